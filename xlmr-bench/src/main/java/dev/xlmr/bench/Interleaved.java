package dev.xlmr.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.openjdk.jmh.infra.Blackhole;

/**
 * A check on JMH's ratios that holds up on a busy machine: ours and DJL's pass over the file run
 * alternately in one JVM, round after round, and the median of the per-round ratios is reported
 * (load that comes and goes hits both sides of a round alike).
 */
final class Interleaved {
    private Interleaved() {
    }

    interface Pass {
        void run(Corpus c, Blackhole bh) throws Exception;
    }

    /** {@code oneThread}: both sides run on the calling thread only, so its CPU time is comparable. */
    record Pair(String ours, Pass a, String theirs, Pass b, boolean oneThread) {}

    static void run(Corpus c, int rounds) throws Exception {
        TokenizerBench t = new TokenizerBench();
        Blackhole bh = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        List<Pair> pairs = new ArrayList<>();
        pairs.add(new Pair("singleOursJson", t::singleOursJson, "singleDjl", t::singleDjl, true));
        pairs.add(new Pair("singleOursSpm", t::singleOursSpm, "singleDjl", t::singleDjl, true));
        pairs.add(new Pair("batchOursJson", (x, h) -> h.consume(t.batchOursJson(x)), "batchDjlOneThread",
                (x, h) -> {
                    NativeEnv.set("TOKENIZERS_PARALLELISM", "false");
                    try {
                        h.consume(t.batchDjl(x));
                    } finally {
                        NativeEnv.set("TOKENIZERS_PARALLELISM", null);
                    }
                }, true));
        pairs.add(new Pair("batchOursJson", (x, h) -> h.consume(t.batchOursJson(x)), "batchDjl",
                (x, h) -> h.consume(t.batchDjl(x)), false));
        pairs.add(new Pair("batchOursJsonThreads", (x, h) -> h.consume(t.batchOursJsonThreads(x)), "batchDjl",
                (x, h) -> h.consume(t.batchDjl(x)), false));
        pairs.add(new Pair("batch32OursJson", t::batch32OursJson, "batch32Djl", t::batch32Djl, false));
        System.out.printf("%ninterleaved (%d alternating rounds in one JVM after warm-up; median of per-round ratios;%n"
                + "cpu: the same from the calling thread's CPU time, where both sides use only that thread)%n", rounds);
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        for (Pair p : pairs) {
            for (int i = 0; i < 5; i++) {
                p.a().run(c, bh);
                p.b().run(c, bh);
            }
            double[] ratios = new double[rounds];
            double[] cpu = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long c0 = mx.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                p.a().run(c, bh);
                long c1 = mx.getCurrentThreadCpuTime();
                long t1 = System.nanoTime();
                p.b().run(c, bh);
                long c2 = mx.getCurrentThreadCpuTime();
                long t2 = System.nanoTime();
                // throughput ratio ours/theirs = their time / our time
                ratios[r] = (double) (t2 - t1) / (t1 - t0);
                cpu[r] = (double) (c2 - c1) / (c1 - c0);
            }
            Arrays.sort(ratios);
            Arrays.sort(cpu);
            System.out.printf("ratio %-22s / %-17s lines/s %.2fx  (rounds: min %.2fx, max %.2fx)%s%n", p.ours(),
                    p.theirs(), ratios[rounds / 2], ratios[0], ratios[rounds - 1],
                    p.oneThread() ? String.format("   cpu %.2fx (min %.2fx, max %.2fx)", cpu[rounds / 2], cpu[0],
                            cpu[rounds - 1]) : "");
        }
        bh.evaporate("Yes, I am Stephen Hawking, and know a thing or two about black holes.");
    }
}
