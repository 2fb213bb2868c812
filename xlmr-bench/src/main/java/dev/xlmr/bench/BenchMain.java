package dev.xlmr.bench;

import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs {@link TokenizerBench} (JMH command-line options pass through, e.g. {@code -wi 1 -i 2} or a
 * benchmark regex), after checking in-process that DJL's ids equal ours on every line, then prints
 * lines/s, tokens/s and our/DJL ratios.
 */
public final class BenchMain {
    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        CommandLineOptions cmd = new CommandLineOptions(args);
        if (cmd.shouldHelp() || cmd.shouldList() || cmd.shouldListWithParams() || cmd.shouldListProfilers()
                || cmd.shouldListResultFormats()) {
            org.openjdk.jmh.Main.main(args);
            return;
        }
        Corpus c = new Corpus();
        c.setup(); // fails unless DJL == ours on all lines
        long jsonTokens = c.jsonTokens();
        long spmTokens = c.spmTokens();
        int lines = c.lines.size();
        System.out.printf("corpus: %d lines, %d tokens (tokenizer.json form = DJL, checked on every line), "
                        + "%d tokens (sentencepiece form), longest %d tokens%n", lines, jsonTokens, spmTokens,
                c.longest());
        System.out.printf("DJL %s: truncation=%s padding=%s; TOKENIZERS_PARALLELISM=%s RAYON_NUM_THREADS=%s; "
                        + "OS threads of the process %d -> %d across DJL's first batchEncode; %d cores%n",
                c.djl.getVersion(), c.djl.getTruncation(), c.djl.getPadding(), System.getenv("TOKENIZERS_PARALLELISM"),
                System.getenv("RAYON_NUM_THREADS"), c.threadsBeforeBatch, c.threadsAfterBatch, c.threads);
        System.out.printf("DJL batchEncode of the file uses %.2f cores by default, %.2f with TOKENIZERS_PARALLELISM=false%n",
                cores(c), sequential(c));
        c.tearDown();

        ChainedOptionsBuilder b = new OptionsBuilder().parent(cmd);
        if (cmd.getIncludes().isEmpty()) {
            b.include(TokenizerBench.class.getSimpleName());
        }
        Collection<RunResult> results = new Runner(b.build()).run();

        Map<String, double[]> score = new TreeMap<>();
        System.out.println();
        System.out.printf("%-22s %12s %12s %14s%n", "benchmark", "files/s", "lines/s", "tokens/s");
        for (RunResult r : results) {
            String label = r.getParams().getBenchmark();
            label = label.substring(label.lastIndexOf('.') + 1);
            double ops = r.getPrimaryResult().getScore();
            double err = r.getPrimaryResult().getScoreError();
            long tokens = label.contains("Spm") ? spmTokens : jsonTokens;
            score.put(label, new double[] {ops, err});
            System.out.printf("%-22s %12.2f %12.0f %14.0f   (+- %.1f%%)%n", label, ops, ops * lines, ops * tokens,
                    ops == 0 ? 0 : 100 * err / ops);
        }
        System.out.println();
        ratio(score, "singleOursJson", "singleDjl", jsonTokens, jsonTokens);
        ratio(score, "singleOursJson", "singleDjlIdsOnly", jsonTokens, jsonTokens);
        ratio(score, "singleOursSpm", "singleDjl", spmTokens, jsonTokens);
        ratio(score, "batchOursJson", "batchDjl", jsonTokens, jsonTokens);
        ratio(score, "batchOursJson", "batchDjlOneThread", jsonTokens, jsonTokens);
        ratio(score, "batchOursJsonThreads", "batchDjl", jsonTokens, jsonTokens);
        ratio(score, "batchOursJson", "batchDjlIdsOnly", jsonTokens, jsonTokens);
        ratio(score, "batchOursJsonThreads", "batchDjlIdsOnly", jsonTokens, jsonTokens);
        ratio(score, "batchOursSpm", "batchDjl", spmTokens, jsonTokens);
        ratio(score, "batch32OursJson", "batch32Djl", jsonTokens, jsonTokens);
    }

    private static double sequential(Corpus c) {
        NativeEnv.set("TOKENIZERS_PARALLELISM", "false");
        try {
            return cores(c);
        } finally {
            NativeEnv.set("TOKENIZERS_PARALLELISM", null);
        }
    }

    /** Process CPU time over wall time while DJL encodes the file as one batch a few times. */
    private static double cores(Corpus c) {
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean();
        c.djl.batchEncode(c.array);
        long cpu0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        for (int i = 0; i < 3; i++) {
            c.djl.batchEncode(c.array);
        }
        return (double) (os.getProcessCpuTime() - cpu0) / (System.nanoTime() - t0);
    }

    private static void ratio(Map<String, double[]> score, String ours, String theirs, long ourTokens,
                              long theirTokens) {
        double[] a = score.get(ours);
        double[] b = score.get(theirs);
        if (a == null || b == null) {
            return;
        }
        System.out.printf("ratio %-22s / %-17s lines/s %.2fx   tokens/s %.2fx%n", ours, theirs, a[0] / b[0],
                (a[0] * ourTokens) / (b[0] * theirTokens));
    }
}
