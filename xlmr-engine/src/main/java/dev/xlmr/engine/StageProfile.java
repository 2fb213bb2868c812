package dev.xlmr.engine;

import java.util.Locale;

/**
 * Time per stage of the encoder, on with {@code -Dxlmr.fast.profile=true} and printed to stderr when the encoder
 * closes. {@link #ON} is a constant, so the timers cost nothing when off.
 */
final class StageProfile {
    static final boolean ON = Boolean.getBoolean("xlmr.fast.profile");
    static final String[] STAGES = {"embeddings", "qkv", "attention", "out-proj", "layernorm", "ffn-up",
        "gelu", "ffn-down", "other", "ffn (up, gelu, down)"};
    static final int EMB = 0, QKV = 1, ATT = 2, OUT = 3, LN = 4, UP = 5, GELU = 6, DOWN = 7, OTHER = 8, FFN = 9;

    private final long[] nanos = new long[STAGES.length];

    /** The start of a stage (0 when off). */
    long start() {
        return ON ? System.nanoTime() : 0;
    }

    /** Adds the time since {@code t0} to a stage when profiling; returns the new start. */
    long lap(int stage, long t0) {
        if (!ON) {
            return 0;
        }
        long t = System.nanoTime();
        nanos[stage] += t - t0;
        return t;
    }

    /** Prints the stages with time spent, when profiling. */
    void print(String kernels, int layers) {
        if (!ON) {
            return;
        }
        long total = 0;
        for (long v : nanos) {
            total += v;
        }
        StringBuilder b = new StringBuilder("xlmr: FastEncoder stages (" + kernels + ", " + layers + " layers):");
        for (int i = 0; i < STAGES.length; i++) {
            if (nanos[i] > 0) {
                b.append(String.format(Locale.ROOT, " %s %.3f s (%.1f%%)", STAGES[i], nanos[i] / 1e9,
                        100.0 * nanos[i] / Math.max(1, total)));
            }
        }
        System.err.println(b);
    }
}
