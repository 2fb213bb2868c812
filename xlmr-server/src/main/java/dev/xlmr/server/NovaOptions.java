package dev.xlmr.server;

import java.nio.file.Path;

/**
 * Where the NOVA/DISCOVER routes find trainers and how much memory one job may take. The data folder is
 * {@link ServerOptions#novaRoot()} (DISCOVER's {@code DATA_DIR}: uris, uploads, {@code db:} streams as
 * {@code <dataset>/<session>/<role>.<name>.stream}); trainers are read from the modules folder
 * (DISCOVER's {@code CML_DIR}), the data folder when none is given.
 *
 * <pre>{@code
 * NovaOptions nova = NovaOptions.defaults().modulesDir(Path.of("/srv/cml")).maxJobBytes(2L << 30);
 * XlmrServer.start(model, ServerOptions.defaults().novaRoot(Path.of("/srv/data")), nova);
 * }</pre>
 *
 * @param modulesDir  folder of the trainers ({@code trainerFilePath} is relative to it), or null for the data folder
 * @param maxJobBytes most bytes one session's frames may take (frames x dim floats and an int a frame);
 *                    a larger session fails with the sizes in the job log before anything is allocated
 */
public record NovaOptions(Path modulesDir, long maxJobBytes) {
    public NovaOptions {
        if (maxJobBytes < 1) throw new IllegalArgumentException("maxJobBytes must be positive, is " + maxJobBytes);
    }

    /** Trainers in the data folder; a job may take a quarter of the maximum heap. */
    public static NovaOptions defaults() {
        return new NovaOptions(null, Math.max(1, Runtime.getRuntime().maxMemory() / 4));
    }

    public NovaOptions modulesDir(Path v) {
        return new NovaOptions(v, maxJobBytes);
    }

    public NovaOptions maxJobBytes(long v) {
        return new NovaOptions(modulesDir, v);
    }
}
