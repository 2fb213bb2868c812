package dev.xlmr.engine;

import dev.xlmr.model.Encoder;
import dev.xlmr.model.XlmRobertaModel;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Chooses the encoder that runs a loaded checkpoint: the fast engine by default, the plain reference
 * when asked ({@code -Dxlmr.encoder=reference} or {@code XLMR_ENCODER=reference}). The fast engine's
 * weight precision comes from {@code xlmr.precision} / {@code XLMR_PRECISION} ({@code fp32} by default,
 * {@code bf16}, {@code int8}).
 *
 * <pre>{@code
 * try (Encoder e = Encoders.open(Path.of("xlm-roberta-base"))) {
 *     ModelOutput out = e.forward(Batch.of(ids, mask, null));
 * }
 * }</pre>
 */
public final class Encoders {
    public static final String ENCODER_PROPERTY = "xlmr.encoder";
    public static final String PRECISION_PROPERTY = "xlmr.precision";

    private Encoders() {}

    /** Loads a model folder and wraps it as configured. */
    public static Encoder open(Path dir) {
        return wrap(XlmRobertaModel.load(dir));
    }

    /** Wraps an already loaded reference model (ownership passes to the returned encoder). */
    public static Encoder wrap(XlmRobertaModel model) {
        String which = setting(ENCODER_PROPERTY, "fast");
        switch (which) {
            case "reference" -> {
                return model;
            }
            case "fast" -> {
                // Kernels of its own: kernels keep per-instance scratch, so encoders do not share them.
                Kernels kernels = null;
                try {
                    kernels = KernelProvider.create(setting(KernelProvider.PROPERTY, "auto"), KernelProvider.defaultThreads());
                    return new OwningEncoder(new FastEncoder(model, kernels, precision()), kernels);
                } catch (RuntimeException e) {
                    if (kernels != null) {
                        kernels.close();
                    }
                    model.close();
                    throw e;
                }
            }
            default -> {
                model.close();
                throw new IllegalArgumentException(ENCODER_PROPERTY + " must be fast or reference (got '" + which + "')");
            }
        }
    }

    /** A fast encoder that also closes the kernels it was given. */
    private record OwningEncoder(FastEncoder encoder, Kernels kernels) implements Encoder {
        @Override
        public dev.xlmr.model.ModelConfig config() {
            return encoder.config();
        }

        @Override
        public dev.xlmr.model.ModelOutput forward(dev.xlmr.model.Batch batch) {
            return encoder.forward(batch);
        }

        @Override
        public void close() {
            try {
                encoder.close();
            } finally {
                kernels.close();
            }
        }
    }

    static Precision precision() {
        String p = setting(PRECISION_PROPERTY, "fp32");
        try {
            return Precision.valueOf(p.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PRECISION_PROPERTY + " must be fp32, bf16 or int8 (got '" + p + "')");
        }
    }

    private static String setting(String property, String fallback) {
        String v = System.getProperty(property);
        if (v == null) {
            v = System.getenv(property.toUpperCase(Locale.ROOT).replace('.', '_'));
        }
        return v == null || v.isBlank() ? fallback : v.trim().toLowerCase(Locale.ROOT);
    }
}
