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

    /**
     * Loads a model folder as configured. The fast engine maps the checkpoint while its kernels start (loading a
     * native library, warming the Vector API) on another thread.
     */
    public static Encoder open(Path dir) {
        FastEncoder.Options options = options();
        return options == null ? XlmRobertaModel.load(dir) : FastEncoder.load(dir, options);
    }

    /** Wraps an already loaded reference model (ownership passes to the returned encoder). */
    public static Encoder wrap(XlmRobertaModel model) {
        FastEncoder.Options options;
        try {
            options = options();
        } catch (IllegalArgumentException e) {
            model.close();
            throw e;
        }
        // Kernels of its own: kernels keep per-instance scratch, so encoders do not share them.
        return options == null ? model : FastEncoder.wrap(model, options);
    }

    /** The fast engine's options from the settings, or null for the reference; bad settings are refused. */
    private static FastEncoder.Options options() {
        String which = setting(ENCODER_PROPERTY, "fast");
        if (!which.equals("fast") && !which.equals("reference")) {
            throw new IllegalArgumentException(ENCODER_PROPERTY + " must be fast or reference (got '" + which + "')");
        }
        Precision precision = precision();
        if (which.equals("reference")) {
            return null;
        }
        return FastEncoder.Options.defaults().kernels(setting(KernelProvider.PROPERTY, "auto")).precision(precision);
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
