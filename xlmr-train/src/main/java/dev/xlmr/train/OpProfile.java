package dev.xlmr.train;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Time per op of the fp32 training path ({@link Fp32Ops}), forward and backward, on with
 * {@code -Dxlmr.train.profile=true} (the inference engine's {@code xlmr.fast.profile} twin). {@link #ON} is
 * a constant, so the timers cost nothing when off. An op's forward time is the time since the previous op
 * recorded its backward on this thread, so glue between ops counts to the op after it.
 *
 * <pre>{@code
 * // java -Dxlmr.train.profile=true ... ; after a step:
 * System.out.println(OpProfile.report());
 * OpProfile.reset();
 * }</pre>
 */
final class OpProfile {
    static final boolean ON = Boolean.getBoolean("xlmr.train.profile");
    private static final Map<String, LongAdder> NANOS = new ConcurrentHashMap<>();
    private static final ThreadLocal<long[]> LAST = ThreadLocal.withInitial(() -> new long[] {System.nanoTime()});

    private OpProfile() {}

    /** Adds {@code nanos} to a named part. */
    static void add(String part, long nanos) {
        NANOS.computeIfAbsent(part, p -> new LongAdder()).add(nanos);
    }

    /** Counts the time since the previous op's end on this thread to {@code op}'s forward. */
    static void forwardDone(String op) {
        long[] last = LAST.get();
        long now = System.nanoTime();
        add(op + " forward", now - last[0]);
        last[0] = now;
    }

    /** Starts the clock of the next op's forward (at the start of a step). */
    static void mark() {
        LAST.get()[0] = System.nanoTime();
    }

    /** One line per part, largest first, with seconds and share; empty when nothing was timed. */
    static String report() {
        Map<String, Long> m = new TreeMap<>();
        NANOS.forEach((k, v) -> m.put(k, v.sum()));
        long total = m.values().stream().mapToLong(Long::longValue).sum();
        StringBuilder b = new StringBuilder();
        m.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue(), x.getValue())).forEach(e ->
                b.append(String.format(Locale.ROOT, "  %-22s %7.3f s %5.1f%%%n", e.getKey(), e.getValue() / 1e9,
                        100.0 * e.getValue() / Math.max(1, total))));
        return b.toString();
    }

    static void reset() {
        NANOS.clear();
    }
}
