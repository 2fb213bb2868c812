package dev.xlmr.cli;

import dev.xlmr.hub.HubClient;
import dev.xlmr.hub.ModelLocator;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ./xlmr download MODEL}: fetches a model's files from the Hugging Face Hub into the cache
 * shared with Python (or finds them there) and prints the snapshot folder on stdout.
 *
 * <pre>{@code
 * dir=$(./xlmr download intfloat/multilingual-e5-base --revision main)
 * }</pre>
 */
@Command(name = "download", mixinStandardHelpOptions = true,
        description = "Download a model from the Hugging Face Hub into the shared cache and print its folder.")
final class DownloadCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "Hub model id (org/name) or a local folder.")
    String model;

    @Option(names = "--revision", paramLabel = "R", description = "Branch, tag or commit hash (default: main).")
    String revision;

    @Option(names = "--cache-dir", paramLabel = "D",
            description = "Cache folder (default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub).")
    Path cacheDir;

    @Option(names = "--endpoint", paramLabel = "URL", description = "Hub URL (default: $HF_ENDPOINT, else https://huggingface.co).")
    String endpoint;

    @Option(names = "--offline", description = "Use only the cache, like HF_HUB_OFFLINE=1.")
    boolean offline;

    @Option(names = "--progress", negatable = true,
            description = "Progress bars on stderr (default: when stderr is a terminal).")
    Boolean progress;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        HubClient.Builder b = HubClient.builder();
        if (cacheDir != null) {
            b.cacheDir(cacheDir);
        }
        if (endpoint != null) {
            b.endpoint(endpoint);
        }
        if (offline) {
            b.offline(true);
        }
        if (progress != null) {
            b.progress(progress);
        }
        Path dir = ModelLocator.resolve(b.build(), model, revision);
        spec.commandLine().getOut().println(dir.toAbsolutePath());
        spec.commandLine().getOut().flush();
        return 0;
    }
}
