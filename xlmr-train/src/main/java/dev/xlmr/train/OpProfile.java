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
    private static final Map<String, LongAdder> CPU = new ConcurrentHashMap<>();
    private static final ThreadLocal<long[]> LAST = ThreadLocal.withInitial(() -> new long[] {System.nanoTime(), cpu()});
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    /** The process's CPU time (all threads, the GC's included), for the cores an op keeps busy. */
    static long cpu() {
        return ON ? OS.getProcessCpuTime() : 0;
    }

    private OpProfile() {}

    /** Adds {@code nanos} to a named part. */
    static void add(String part, long nanos) {
        NANOS.computeIfAbsent(part, p -> new LongAdder()).add(nanos);
    }

    /** Adds wall {@code nanos} and process CPU {@code cpuNanos} to a named part. */
    static void add(String part, long nanos, long cpuNanos) {
        add(part, nanos);
        CPU.computeIfAbsent(part, p -> new LongAdder()).add(cpuNanos);
    }

    /** Counts the time since the previous op's end on this thread to {@code op}'s forward. */
    static void forwardDone(String op) {
        long[] last = LAST.get();
        long now = System.nanoTime();
        long c = cpu();
        add(op + " forward", now - last[0], c - last[1]);
        last[0] = now;
        last[1] = c;
    }

    /** Starts the clock of the next op's forward (at the start of a step). */
    static void mark() {
        LAST.get()[0] = System.nanoTime();
        LAST.get()[1] = cpu();
    }

    /**
     * One line per part, largest first, with seconds, share and (where timed) the cores the process kept busy
     * meanwhile; empty when nothing was timed.
     */
    static String report() {
        Map<String, Long> m = new TreeMap<>();
        NANOS.forEach((k, v) -> m.put(k, v.sum()));
        long total = m.values().stream().mapToLong(Long::longValue).sum();
        StringBuilder b = new StringBuilder();
        m.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue(), x.getValue())).forEach(e -> {
            LongAdder c = CPU.get(e.getKey());
            b.append(String.format(Locale.ROOT, "  %-22s %7.3f s %5.1f%%", e.getKey(), e.getValue() / 1e9,
                    100.0 * e.getValue() / Math.max(1, total)));
            b.append(c == null ? "\n" : String.format(Locale.ROOT, "  %.2f cores%n", c.sum() / (double) Math.max(1, e.getValue())));
        });
        return b.toString();
    }

    static void reset() {
        NANOS.clear();
        CPU.clear();
    }
}
