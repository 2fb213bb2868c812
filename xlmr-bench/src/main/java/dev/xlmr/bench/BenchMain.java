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
 * lines/s, tokens/s and our/DJL ratios, and then the same ratios from alternating rounds in one JVM
 * ({@link Interleaved}; {@code -Dbench.interleaved=N} rounds, 0 to skip).
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
        System.out.printf("DJL batchEncode of the file: %s by default; %s with TOKENIZERS_PARALLELISM=false%n",
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

        int rounds = Integer.getInteger("bench.interleaved", 11);
        if (rounds > 0) {
            Corpus again = new Corpus();
            again.setup();
            try {
                Interleaved.run(again, rounds);
            } finally {
                again.tearDown();
            }
        }
    }

    private static String sequential(Corpus c) {
        NativeEnv.set("TOKENIZERS_PARALLELISM", "false");
        try {
            return cores(c);
        } finally {
            NativeEnv.set("TOKENIZERS_PARALLELISM", null);
        }
    }

    /**
     * Which OS threads of the process (Java and native) did the work while DJL encoded the file as
     * one batch a few times: "N threads busy (cpu shares)", from /proc/self/task/N/stat. Unlike
     * CPU time over wall time this holds on a machine busy with other work.
     */
    private static String cores(Corpus c) {
        c.djl.batchEncode(c.array);
        Map<String, Long> before = taskTicks();
        for (int i = 0; i < 3; i++) {
            c.djl.batchEncode(c.array);
        }
        Map<String, Long> after = taskTicks();
        long total = 0;
        java.util.List<Long> deltas = new java.util.ArrayList<>();
        for (var e : after.entrySet()) {
            long d = e.getValue() - before.getOrDefault(e.getKey(), 0L);
            total += d;
            deltas.add(d);
        }
        deltas.sort(java.util.Comparator.reverseOrder());
        StringBuilder sb = new StringBuilder();
        int busy = 0;
        for (long d : deltas) {
            if (total > 0 && d * 10 >= total) {
                busy++;
                sb.append(sb.isEmpty() ? "" : ", ").append(Math.round(100.0 * d / total)).append('%');
            }
        }
        return busy + " threads busy (" + sb + " of its CPU time)";
    }

    private static Map<String, Long> taskTicks() {
        Map<String, Long> out = new TreeMap<>();
        java.io.File[] tasks = new java.io.File("/proc/self/task").listFiles();
        if (tasks == null) {
            return out;
        }
        for (java.io.File t : tasks) {
            try {
                String stat = java.nio.file.Files.readString(t.toPath().resolve("stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                out.put(t.getName(), Long.parseLong(f[11]) + Long.parseLong(f[12])); // utime + stime
            } catch (java.io.IOException | RuntimeException e) {
                // the thread ended
            }
        }
        return out;
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
