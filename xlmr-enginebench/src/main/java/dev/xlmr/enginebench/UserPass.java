package dev.xlmr.enginebench;

import dev.xlmr.engine.KernelProvider;
import dev.xlmr.engine.Kernels;
import dev.xlmr.engine.Precision;
import dev.xlmr.engine.Weights;
import dev.xlmr.model.ModelConfig;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * What a user's run takes: one fresh process per engine, one pass over new sentences. ONNX Runtime (sorted batches,
 * in a fresh JVM that loads the session and the tokenizer) against {@code ./xlmr embed} in each configuration of
 * ours, timed from process start to exit, with peak RSS, cosine to ORT's embeddings, the model FLOPs per second each
 * reaches and its share of this CPU's measured peak matmul rate. Run by {@code bench/engine.sh} after
 * {@link EngineBench}, or alone:
 *
 * <pre>{@code
 * java ... dev.xlmr.enginebench.UserPass --model /tmp/xlmr-bench-base --sentences 1000 --xlmr ./xlmr
 * }</pre>
 */
public final class UserPass {
    private UserPass() {}

    @Command(name = "UserPass", mixinStandardHelpOptions = true, description = "one fresh process per engine over the "
            + "same sentences: ORT sorted batches, then ./xlmr embed with XLMR_KERNELS / XLMR_PRECISION set for each of --ours")
    static final class Options {
        @Mixin BenchOptions common = new BenchOptions();
        @Option(names = "--xlmr", description = "the launcher (default ${DEFAULT-VALUE})")
        Path xlmr = Path.of("./xlmr");
        @Option(names = "--ours", split = ",", defaultValue = "onednn-FP32,onednn-BF16,onednn-INT8,vector-FP32",
                description = "our configurations, KERNELS-PRECISION")
        List<String> ours;
        @Option(names = "--ort-child", hidden = true)
        String child;
    }

    record Args(Path model, Path texts, int sentences, int batch, int threads, Path xlmr, List<String> ours, String child) {
        static Args parse(String[] argv) {
            Options o = BenchOptions.parse(new Options(), argv);
            return new Args(o.common.model, o.common.texts, o.common.sentences, o.common.batch, o.common.threads,
                    o.xlmr, o.ours, o.child);
        }
    }

    /** One measured process. */
    record Pass(String name, double wallS, double rssMib, float[][] embeddings) {}

    public static void main(String[] argv) throws Exception {
        Args a = Args.parse(argv);
        if (a.child() != null) {
            ortChild(a, Path.of(a.child()));
            return;
        }
        List<String> set = BenchSet.load(a.texts(), a.sentences());
        Path dir = Files.createTempDirectory("xlmr-userpass");
        Path in = dir.resolve("sentences.txt");
        Files.writeString(in, String.join("\n", set) + "\n", StandardCharsets.UTF_8);
        ModelConfig cfg = ModelConfig.load(a.model().resolve("config.json"));
        long tokens = 0, attention = 0;
        XlmRobertaTokenizer tok = XlmRobertaTokenizer.load(a.model(), XlmRobertaTokenizer.Format.JSON);
        for (String s : set) {
            int n = Math.min(tok.encode(s).ids().length, 512);
            tokens += n;
            attention += (long) n * n;
        }
        // multiply-adds x 2 of the linear layers (Q, K, V, O, up, down) per token, and of Q K^T and P V per pair
        int h = cfg.hiddenSize(), in2 = cfg.intermediateSize(), layers = cfg.numHiddenLayers();
        double flops = 2.0 * layers * (tokens * (4.0 * h * h + 2.0 * h * in2) + 2.0 * attention * h);
        System.out.printf(Locale.ROOT, "user pass: %s, %d sentences (%d tokens, %.1f GFLOP), batch %d, %d threads, one fresh process each%n",
                a.model(), set.size(), tokens, flops / 1e9, a.batch(), a.threads());

        Map<String, Double> peak = peaks(a.threads());
        List<Pass> passes = new ArrayList<>();
        Path ortOut = dir.resolve("ort.bin");
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), UserPass.class.getName(),
                "--model", a.model().toString(), "--texts", in.toString(), "--batch", String.valueOf(a.batch()),
                "--threads", String.valueOf(a.threads()), "--ort-child", ortOut.toString()));
        Timed ort = time(new ProcessBuilder(cmd), dir.resolve("ort.log"));
        passes.add(new Pass("ORT sorted batches (fresh JVM)", ort.wallS, ort.rssMib, readFloats(ortOut)));
        System.out.printf(Locale.ROOT, "  %-34s %7.1f s  %s%n", passes.getLast().name(), ort.wallS, ort.memory());
        for (String o : a.ours()) {
            String[] p = o.split("-");
            ProcessBuilder pb = new ProcessBuilder(a.xlmr().toString(), "embed", "--model", a.model().toString(),
                    "--batch-size", String.valueOf(a.batch()), "--no-progress");
            pb.environment().put("XLMR_KERNELS", p[0]);
            pb.environment().put("XLMR_PRECISION", p[1].toLowerCase(Locale.ROOT));
            pb.environment().put("XLMR_THREADS", String.valueOf(a.threads()));
            Path out = dir.resolve(o + ".jsonl");
            pb.redirectInput(in.toFile()).redirectOutput(out.toFile());
            Timed t;
            try {
                t = time(pb, dir.resolve(o + ".log"));
            } catch (IllegalStateException e) {
                System.out.println("  ./xlmr embed " + o + " FAILED: " + Files.readString(dir.resolve(o + ".log")).strip().replace('\n', ' '));
                continue;
            }
            String log = Files.readString(dir.resolve(o + ".log"));
            if (log.contains("falling back")) System.out.println("  " + o + ": " + log.strip().replace('\n', ' '));
            passes.add(new Pass("./xlmr embed " + o, t.wallS, t.rssMib, readJsonl(out, set.size())));
            System.out.printf(Locale.ROOT, "  %-34s %7.1f s  %s%n", passes.getLast().name(), t.wallS, t.memory());
        }

        System.out.println();
        System.out.printf(Locale.ROOT, "peak matmul on this CPU (%d threads, %s, 512x768x3072): %s%n", a.threads(),
                KernelProvider.isAvailable("onednn") ? "onednn" : "vector", fmtPeaks(peak));
        System.out.println();
        System.out.println("| one pass, fresh process | wall s | sentences/s | vs ORT sorted | peak RSS MiB | cosine to ORT (min / mean) | model GFLOP/s | share of peak |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- |");
        Pass base = passes.getFirst();
        for (Pass p : passes) {
            double[] cs = Pooling.cosines(base.embeddings(), p.embeddings());
            double gf = flops / p.wallS() / 1e9;
            String prec = p.name().contains("BF16") ? "BF16" : p.name().contains("INT8") ? "INT8" : "FP32";
            System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.2fx | %.0f | %.6f / %.6f | %.0f | %.0f%% of %s |%n",
                    p.name(), p.wallS(), set.size() / p.wallS(), base.wallS() / p.wallS(), p.rssMib(), cs[0], cs[1], gf,
                    100 * gf / peak.get(prec), prec.toLowerCase(Locale.ROOT));
        }
    }

    /** In a fresh JVM: ORT session + HF tokenizer, every sentence once in sorted batches, embeddings to {@code out}. */
    static void ortChild(Args a, Path out) throws IOException {
        List<String> set = Files.readAllLines(a.texts(), StandardCharsets.UTF_8);
        int hidden = ModelConfig.load(a.model().resolve("config.json")).hiddenSize();
        float[][] e;
        try (OrtEmbedder ort = new OrtEmbedder(a.model(), a.threads(), 512, hidden)) {
            e = ort.embed(set, a.batch(), true);
        }
        try (DataOutputStream d = new DataOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(out)))) {
            d.writeInt(e.length);
            d.writeInt(e[0].length);
            for (float[] r : e) for (float f : r) d.writeFloat(f);
        }
    }

    /** Wall time; peak RSS (VmHWM); the largest anonymous and file-backed shares seen by the polls. */
    record Timed(double wallS, double rssMib, double anonMib, double fileMib) {
        String memory() {
            return String.format(Locale.ROOT, "%6.0f MiB (anon max %.0f, file max %.0f), load average after %.1f", rssMib,
                    anonMib, fileMib, java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
    }

    /**
     * Runs to completion; wall time from start to exit, peak RSS from /proc (VmHWM, polled every 50 ms; Linux: the
     * kernel's own high-water mark, the same figure as {@code /usr/bin/time}'s maximum resident set size).
     */
    static Timed time(ProcessBuilder pb, Path log) throws Exception {
        pb.redirectError(log.toFile());
        // an unread pipe would block the child: stdout not redirected by the caller goes beside the log
        if (pb.redirectOutput() == ProcessBuilder.Redirect.PIPE) pb.redirectOutput(log.resolveSibling(log.getFileName() + ".out").toFile());
        long t0 = System.nanoTime();
        Process p = pb.start();
        double hwm = 0, anon = 0, file = 0;
        while (!p.waitFor(50, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            // ./xlmr execs java, so the script's pid becomes the JVM's
            List<ProcStatus> st = new ArrayList<>(List.of(ProcStatus.read(String.valueOf(p.pid()))));
            for (ProcessHandle c : p.descendants().toList()) st.add(ProcStatus.read(String.valueOf(c.pid())));
            for (ProcStatus s : st) { // -1 where the process ended between polls
                hwm = Math.max(hwm, s.hwm());
                anon = Math.max(anon, s.anon());
                file = Math.max(file, s.file());
            }
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        if (p.exitValue() != 0) throw new IllegalStateException(pb.command() + " exited " + p.exitValue() + ": " + Files.readString(log));
        return new Timed(wall, hwm, anon, file);
    }

    static float[][] readFloats(Path f) throws IOException {
        try (DataInputStream d = new DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(f)))) {
            float[][] e = new float[d.readInt()][d.readInt()];
            for (float[] r : e) for (int i = 0; i < r.length; i++) r[i] = d.readFloat();
            return e;
        }
    }

    /** {@code {"embedding":[...]}} lines as ./xlmr embed writes them. */
    static float[][] readJsonl(Path f, int expect) throws IOException {
        List<float[]> rows = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(Files.newInputStream(f), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                int s = line.indexOf('['), e = line.lastIndexOf(']');
                if (!line.startsWith("{\"embedding\":") || s < 0 || e < s) throw new IllegalStateException(f + ": not an embedding line: " + line);
                String[] parts = line.substring(s + 1, e).split(",");
                float[] v = new float[parts.length];
                for (int i = 0; i < v.length; i++) v[i] = Float.parseFloat(parts[i]);
                rows.add(v);
            }
        }
        if (rows.size() != expect) throw new IllegalStateException(f + ": " + rows.size() + " embeddings, expected " + expect);
        return rows.toArray(float[][]::new);
    }

    /** Best of a few timed 512x768 by 768x3072 matmuls per precision (GFLOP/s), on the automatic kernels. */
    static Map<String, Double> peaks(int threads) {
        int m = 512, k = 768, n = 3072;
        java.util.Random rnd = new java.util.Random(1);
        float[] x = new float[m * k], w = new float[n * k], y = new float[m * n];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian() * 0.03f;
        Map<String, Double> out = new LinkedHashMap<>();
        try (Kernels kn = KernelProvider.create("auto", threads)) {
            for (Precision p : Precision.values()) {
                Weights pw;
                try {
                    pw = kn.pack(w, n, k, p);
                } catch (RuntimeException e) {
                    System.out.println("  peak " + p + ": not available on " + kn.name() + " (" + e.getMessage() + ")");
                    out.put(p.name(), Double.NaN);
                    continue;
                }
                // the first call makes the primitive and (fp32 on onednn) starts the repack into the blocked layout
                // that later calls use: wait for it, or the peak is that of the plain layout
                kn.linear(x, m, k, pw, null, y, n);
                kn.drain();
                double best = 0;
                long until = System.nanoTime() + 3_000_000_000L;
                for (int r = 0; r < 40 && System.nanoTime() < until; r++) {
                    long t0 = System.nanoTime();
                    kn.linear(x, m, k, pw, null, y, n);
                    best = Math.max(best, 2.0 * m * k * n / ((System.nanoTime() - t0) / 1e9) / 1e9);
                }
                out.put(p.name(), best);
            }
        }
        return out;
    }

    private static String fmtPeaks(Map<String, Double> p) {
        List<String> s = new ArrayList<>();
        p.forEach((k, v) -> s.add(String.format(Locale.ROOT, "%s %.0f GFLOP/s", k.toLowerCase(Locale.ROOT), v)));
        return String.join(", ", s);
    }
}
