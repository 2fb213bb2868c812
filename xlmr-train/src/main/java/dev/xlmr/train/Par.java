package dev.xlmr.train;

import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Splits element-wise work of the fp32 path over the cores: {@code parts} contiguous ranges, the
 * caller running the first and the common fork-join pool the rest. Small ranges run on the caller.
 */
final class Par {
    /** The number of parallel parts large loops are split into: the engine's thread setting (xlmr.threads, XLMR_THREADS). */
    static final int THREADS = Math.max(1, dev.xlmr.engine.KernelProvider.defaultThreads());
    private static final int MIN = 1 << 15;

    private Par() {}

    interface Range {
        void run(int part, int from, int to);
    }

    /** Runs {@code body} over [0, n) in up to {@link #THREADS} parts (one when n is below {@code grain}). */
    static void range(int n, int grain, Range body) {
        int parts = n < Math.max(grain, 2) ? 1 : Math.min(THREADS, n / Math.max(1, grain / 2));
        parts = Math.max(1, Math.min(parts, n));
        if (parts == 1) {
            body.run(0, 0, n);
            return;
        }
        int p = parts;
        ForkJoinTask<?>[] fs = new ForkJoinTask<?>[p];
        for (int i = 1; i < p; i++) {
            int part = i;
            fs[i] = ForkJoinPool.commonPool().submit(() -> body.run(part, (int) ((long) n * part / p),
                    (int) ((long) n * (part + 1) / p)));
        }
        body.run(0, 0, (int) ((long) n / p));
        for (int i = 1; i < p; i++) {
            fs[i].join();
        }
    }

    interface Item {
        void run(int part, int item);
    }

    /**
     * Runs {@code body} for items [0, count), claimed one at a time by up to {@link #THREADS} parts (as many as
     * {@link #eachParts}), so items of uneven cost still keep every core busy.
     */
    static void each(int count, Item body) {
        AtomicInteger next = new AtomicInteger();
        range(eachParts(count), 1, (part, p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                for (int i; (i = next.getAndIncrement()) < count; ) {
                    body.run(p, i);
                }
            }
        });
    }

    /** The number of parts {@link #each} uses for {@code count} items (for per-part scratch). */
    static int eachParts(int count) {
        return Math.max(1, Math.min(THREADS, count));
    }

    /** The number of parts {@link #range} uses for {@code n} elements (for per-part partial sums). */
    static int parts(int n, int grain) {
        int parts = n < Math.max(grain, 2) ? 1 : Math.min(THREADS, n / Math.max(1, grain / 2));
        return Math.max(1, Math.min(parts, n));
    }

    static void fill(float[] a, float v) {
        range(a.length, MIN, (part, from, to) -> Arrays.fill(a, from, to, v));
    }

}
