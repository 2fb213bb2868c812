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

    record Pair(String ours, Pass a, String theirs, Pass b) {}

    static void run(Corpus c, int rounds) throws Exception {
        TokenizerBench t = new TokenizerBench();
        Blackhole bh = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        List<Pair> pairs = new ArrayList<>();
        pairs.add(new Pair("singleOursJson", t::singleOursJson, "singleDjl", t::singleDjl));
        pairs.add(new Pair("singleOursSpm", t::singleOursSpm, "singleDjl", t::singleDjl));
        pairs.add(new Pair("batchOursJson", (x, h) -> h.consume(t.batchOursJson(x)), "batchDjl",
                (x, h) -> h.consume(t.batchDjl(x))));
        pairs.add(new Pair("batchOursJsonThreads", (x, h) -> h.consume(t.batchOursJsonThreads(x)), "batchDjl",
                (x, h) -> h.consume(t.batchDjl(x))));
        pairs.add(new Pair("batch32OursJson", t::batch32OursJson, "batch32Djl", t::batch32Djl));
        System.out.printf("%ninterleaved (%d alternating rounds in one JVM after warm-up; median of per-round ratios)%n",
                rounds);
        for (Pair p : pairs) {
            for (int i = 0; i < 5; i++) {
                p.a().run(c, bh);
                p.b().run(c, bh);
            }
            double[] ratios = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                p.a().run(c, bh);
                long t1 = System.nanoTime();
                p.b().run(c, bh);
                long t2 = System.nanoTime();
                // throughput ratio ours/theirs = their time / our time
                ratios[r] = (double) (t2 - t1) / (t1 - t0);
            }
            Arrays.sort(ratios);
            System.out.printf("ratio %-22s / %-17s lines/s %.2fx  (rounds: min %.2fx, max %.2fx)%n", p.ours(),
                    p.theirs(), ratios[rounds / 2], ratios[0], ratios[rounds - 1]);
        }
        bh.evaporate("Yes, I am Stephen Hawking, and know a thing or two about black holes.");
    }
}
