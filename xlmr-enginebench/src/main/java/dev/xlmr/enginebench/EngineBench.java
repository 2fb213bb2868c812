package dev.xlmr.enginebench;

import dev.xlmr.engine.FastEncoder;
import dev.xlmr.engine.KernelProvider;
import dev.xlmr.engine.Precision;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Our engine (tokenizer + {@link FastEncoder} + mean pooling) against ONNX Runtime + HF tokenizers (DJL) on
 * the same sentences, batch size and threads, in one JVM with the runs interleaved; time to model ready and
 * peak RSS in separate JVMs. Run through {@code bench/engine.sh}; {@code --help} lists the options.
 */
public final class EngineBench {

    @Command(name = "EngineBench", mixinStandardHelpOptions = true, description = "our engine against ONNX Runtime "
            + "on the same sentences, interleaved in one JVM; model ready and peak RSS in fresh JVMs")
    static final class Options {
        @Mixin BenchOptions common = new BenchOptions();
        @Option(names = "--rounds", description = "timed rounds (default ${DEFAULT-VALUE})")
        int rounds = 2;
        @Option(names = "--latency-calls", description = "single-sentence calls timed (default ${DEFAULT-VALUE})")
        int latencyCalls = 100;
        @Option(names = "--process-runs", description = "fresh JVMs per engine (default ${DEFAULT-VALUE})")
        int processRuns = 2;
        @Option(names = "--max-length", description = "tokens per sentence at most (default ${DEFAULT-VALUE})")
        int maxLength = 512;
        @Option(names = "--ours", split = ",", defaultValue = "vector-FP32,onednn-FP32,onednn-BF16,vector-BF16,vector-INT8",
                description = "our configurations, KERNELS-PRECISION (kernels: vector, onednn, native, scalar); "
                        + "vector-FP32 (the pure-Java reference) is always run")
        List<String> ours;
        @Option(names = "--fresh", split = ",", defaultValue = "ours-vector-FP32,ours-onednn-FP32,ours-onednn-BF16,ort",
                description = "engines timed in fresh JVMs (model ready, first result, peak RSS)")
        List<String> fresh;
        @Option(names = "--no-input-order", description = "skip ORT with batches in input order (slow; for quick runs)")
        boolean noInputOrder;
        @Option(names = "--child", hidden = true)
        String child;
    }

    /** Command line options. */
    record Args(Path model, Path texts, int sentences, int batch, int threads, int rounds, int latencyCalls,
                int processRuns, int maxLength, List<String> ours, List<String> fresh, boolean inputOrder, String child) {
        static Args parse(String[] argv) {
            Options o = BenchOptions.parse(new Options(), argv);
            List<String> ours = o.ours;
            if (!ours.contains("vector-FP32")) {
                ours = new ArrayList<>(ours);
                ours.addFirst("vector-FP32");
            }
            return new Args(o.common.model, o.common.texts, o.common.sentences, o.common.batch, o.common.threads,
                    o.rounds, o.latencyCalls, o.processRuns, o.maxLength, ours, o.fresh, !o.noInputOrder, o.child);
        }
    }

    private EngineBench() {}

    public static void main(String[] argv) throws Exception {
        Args a = Args.parse(argv);
        if (a.child() != null) {
            child(a);
            return;
        }
        System.exit(run(a));
    }

    static FastEncoder.Options ours(String kernels, int threads, Precision p) {
        return FastEncoder.Options.defaults().kernels(kernels).threads(threads).precision(p);
    }

    // ------------------------------------------------------------------ separate processes: ready time, RSS

    /**
     * In a fresh JVM: load one engine, time it and its first one-sentence result, then embed the longest
     * sentences of the set in two batches (where the working buffers peak) and print one result line.
     */
    static void child(Args a) {
        List<String> all = BenchSet.load(a.texts(), a.sentences());
        List<String> set = new ArrayList<>(all);
        set.sort(java.util.Comparator.comparingInt(String::length).reversed());
        set = List.copyOf(set.subList(0, Math.min(set.size(), 2 * a.batch())));
        String e = a.child();
        // model ready: the encoder (ours) or the session (ORT) alone, as the first thing the JVM does;
        // then the tokenizer, then one sentence end to end
        long t0 = System.nanoTime();
        double loadS, tokS, firstS;
        double jvmReadyS; // the same moment counted from the JVM's start (JVM boot and class loading included)
        if (e.equals("ort")) {
            int hidden = dev.xlmr.model.ModelConfig.load(a.model().resolve("config.json")).hiddenSize();
            try (OrtEmbedder ort = new OrtEmbedder(a.model(), a.threads(), a.maxLength(), hidden)) {
                loadS = (ort.sessionReadyNanos - t0) / 1e9;
                jvmReadyS = ManagementFactory.getRuntimeMXBean().getUptime() / 1e3 - (System.nanoTime() - ort.sessionReadyNanos) / 1e9;
                tokS = (System.nanoTime() - t0) / 1e9;
                ort.embedOne(all.getFirst());
                firstS = (System.nanoTime() - t0) / 1e9;
                ort.embed(set, a.batch(), true);
            }
        } else {
            String[] parts = e.split("-"); // ours-vector-FP32
            FastEncoder enc = FastEncoder.load(a.model(), ours(parts[1], a.threads(), Precision.valueOf(parts[2])));
            loadS = (System.nanoTime() - t0) / 1e9;
            jvmReadyS = ManagementFactory.getRuntimeMXBean().getUptime() / 1e3;
            XlmRobertaTokenizer tok = XlmRobertaTokenizer.load(a.model(), XlmRobertaTokenizer.Format.JSON);
            tokS = (System.nanoTime() - t0) / 1e9;
            try (OursEmbedder o = new OursEmbedder(tok, enc, a.maxLength())) {
                o.embedOne(all.getFirst());
                firstS = (System.nanoTime() - t0) / 1e9;
                o.embed(set, a.batch());
            }
        }
        ProcStatus st = ProcStatus.read();
        System.out.printf(Locale.ROOT, "child %s ready_s=%.3f jvm_ready_s=%.3f tok_s=%.3f first_s=%.3f hwm_mib=%.0f anon_mib=%.0f file_mib=%.0f%n",
                e, loadS, jvmReadyS, tokS, firstS, st.hwm(), st.anon(), st.file());
    }

    record ChildResult(String engine, double readyS, double tokS, double firstS, double hwm) {}

    static ChildResult spawn(Args a, String engine) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), EngineBench.class.getName(),
                "--model", a.model().toString(), "--texts", a.texts().toString(),
                "--sentences", String.valueOf(a.sentences()), "--batch", String.valueOf(a.batch()),
                "--threads", String.valueOf(a.threads()), "--max-length", String.valueOf(a.maxLength()),
                "--child", engine));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String result = null;
        StringBuilder all = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                all.append(line).append('\n');
                if (line.startsWith("child ")) {
                    result = line;
                }
            }
        }
        if (p.waitFor() != 0 || result == null) {
            throw new IllegalStateException("child " + engine + " failed:\n" + all);
        }
        Map<String, String> kv = new LinkedHashMap<>();
        for (String f : result.split(" ")) {
            int eq = f.indexOf('=');
            if (eq > 0) {
                kv.put(f.substring(0, eq), f.substring(eq + 1));
            }
        }
        return new ChildResult(engine, Double.parseDouble(kv.get("ready_s")), Double.parseDouble(kv.get("tok_s")),
                Double.parseDouble(kv.get("first_s")), Double.parseDouble(kv.get("hwm_mib")));
    }

    // ------------------------------------------------------------------ the main run

    /** One measured configuration of the throughput rounds. */
    record Config(String name, Supplier<float[][]> run, java.util.function.Consumer<List<String>> warmup,
                  List<Double> rates) {
        Config(String name, Supplier<float[][]> run, java.util.function.Consumer<List<String>> warmup) {
            this(name, run, warmup, new ArrayList<>());
        }
    }

    static int run(Args a) throws Exception {
        List<String> set = BenchSet.load(a.texts(), a.sentences());
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.printf(Locale.ROOT, "engine bench: %s, %d sentences, batch %d, %d threads; %s, %d cores, load %.1f%n",
                a.model(), set.size(), a.batch(), a.threads(), Runtime.version(), cores,
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        boolean failed = false;

        // 1. time to model ready and peak RSS, each engine in its own fresh JVM, alternating
        List<String> childEngines = new ArrayList<>();
        for (String e : a.fresh()) {
            if (e.equals("ort") || KernelProvider.isAvailable(e.split("-")[1])) {
                childEngines.add(e);
            } else {
                System.out.println("  skipping " + e + ": kernels not available here");
            }
        }
        Map<String, List<ChildResult>> children = new LinkedHashMap<>();
        for (int r = 0; r < a.processRuns(); r++) {
            for (String e : childEngines) {
                ChildResult c = spawn(a, e);
                children.computeIfAbsent(e, k -> new ArrayList<>()).add(c);
                System.out.printf(Locale.ROOT, "  fresh JVM %-17s model ready %.3f s, with tokenizer %.3f s, first result %.3f s, peak RSS %.0f MiB%n",
                        e, c.readyS(), c.tokS(), c.firstS(), c.hwm());
            }
        }

        // 2. every engine in this JVM
        int hidden = dev.xlmr.model.ModelConfig.load(a.model().resolve("config.json")).hiddenSize();
        Map<String, Double> loadS = new LinkedHashMap<>();
        long t = System.nanoTime();
        OrtEmbedder ort = new OrtEmbedder(a.model(), a.threads(), a.maxLength(), hidden);
        loadS.put("ort", (System.nanoTime() - t) / 1e9);
        Map<String, OursEmbedder> ours = new LinkedHashMap<>();
        List<String> oursNames = new ArrayList<>();
        for (String n : a.ours()) {
            if (KernelProvider.isAvailable(n.split("-")[0])) {
                oursNames.add(n);
            } else {
                System.out.println("  skipping ours " + n + ": kernels not available here");
            }
        }
        for (String n : oursNames) {
            String[] p = n.split("-");
            t = System.nanoTime();
            ours.put(n, new OursEmbedder(a.model(), ours(p[0], a.threads(), Precision.valueOf(p[1])), a.maxLength()));
            loadS.put("ours-" + n, (System.nanoTime() - t) / 1e9);
        }
        OursEmbedder fp32 = ours.get("vector-FP32");
        for (String n : oursNames) {
            System.out.println("  ours " + n + ": " + ours.get(n).encoder.kernels().description());
        }
        System.out.printf(Locale.ROOT, "  load in this JVM (warm page cache): %s%n", fmt(loadS));

        // same tokens: DJL's HF tokenizers and ours on every sentence
        long[][] djlIds = ort.ids(set);
        List<int[]> ourIds = fp32.ids(set);
        int sameTok = 0;
        long tokens = 0;
        for (int i = 0; i < set.size(); i++) {
            int[] o = ourIds.get(i);
            tokens += o.length;
            if (Arrays.equals(Arrays.stream(o).asLongStream().toArray(), djlIds[i])) {
                sameTok++;
            }
        }
        System.out.printf(Locale.ROOT, "  tokens: %d (%.1f per sentence, longest %d); identical ids from both tokenizers: %d/%d%n",
                tokens, (double) tokens / set.size(), ourIds.stream().mapToInt(x -> x.length).max().orElse(0),
                sameTok, set.size());

        // 3. throughput: a warm-up pass each on the first sentences, then interleaved rounds on all of them
        //    (the first round's embeddings are the accuracy checks)
        List<Config> configs = new ArrayList<>();
        Config ours32 = new Config("ours fp32 (vector)", () -> fp32.embed(set, a.batch()), w -> fp32.embed(w, a.batch()));
        Config ortSorted = new Config("ORT sorted batches", () -> ort.embed(set, a.batch(), true),
                w -> ort.embed(w, a.batch(), true));
        Config ortInput = new Config("ORT input order", () -> ort.embed(set, a.batch(), false),
                w -> ort.embed(w, a.batch(), false));
        configs.add(ours32);
        configs.add(ortSorted);
        if (a.inputOrder()) {
            configs.add(ortInput);
        }
        for (String n : oursNames) {
            if (!n.equals("vector-FP32")) {
                OursEmbedder o = ours.get(n);
                String[] p = n.split("-");
                configs.add(new Config("ours " + p[1].toLowerCase(Locale.ROOT) + " (" + p[0] + ")",
                        () -> o.embed(set, a.batch()), w -> o.embed(w, a.batch())));
            }
        }
        List<String> warm = set.subList(0, Math.min(set.size(), 5 * a.batch()));
        for (Config c : configs) {
            c.warmup().accept(warm);
        }
        Map<String, float[][]> first = new LinkedHashMap<>();
        for (int r = 0; r < a.rounds(); r++) {
            for (int i = 0; i < configs.size(); i++) {
                Config c = configs.get((i + r) % configs.size());
                long t0 = System.nanoTime();
                float[][] e = c.run().get();
                double s = (System.nanoTime() - t0) / 1e9;
                c.rates().add(set.size() / s);
                first.putIfAbsent(c.name(), e);
            }
            System.out.printf(Locale.ROOT, "  round %d:", r + 1);
            for (Config c : configs) {
                System.out.printf(Locale.ROOT, " %s %.1f/s;", c.name(), c.rates().getLast());
            }
            System.out.println();
        }
        float[][] want = first.get(ours32.name());
        System.out.println("  accuracy, cosine per sentence (min / mean):");
        for (Config c : configs) {
            if (c == ours32) {
                continue;
            }
            double[] cs = Pooling.cosines(want, first.get(c.name()));
            boolean reduced = c.name().contains("bf16") || c.name().contains("int8");
            double need = reduced ? 0.999 : 0.9999;
            boolean ok = cs[0] >= need;
            failed |= !ok;
            System.out.printf(Locale.ROOT, "    %-22s vs ours fp32: %.6f / %.6f  (need >= %s) %s%n",
                    c.name(), cs[0], cs[1], need, ok ? "ok" : "FAILED");
        }
        // 4. one-sentence latency, calls interleaved
        int calls = a.latencyCalls();
        List<String> latNames = new ArrayList<>();
        List<java.util.function.Consumer<String>> latRuns = new ArrayList<>();
        latNames.add("ORT");
        latRuns.add(ort::embedOne);
        for (String n : oursNames) {
            OursEmbedder o = ours.get(n);
            latNames.add("ours " + n);
            latRuns.add(o::embedOne);
        }
        double[][] lat = new double[latNames.size()][calls];
        int stride = Math.max(1, set.size() / calls);
        for (int i = -10; i < calls; i++) {
            String s = set.get(Math.floorMod(i, calls) * stride % set.size());
            for (int e = 0; e < latNames.size(); e++) {
                // a pause first: the previous engine's pool threads (ORT's and OpenMP's spin after each call)
                // go idle instead of competing with the engine being timed
                Thread.sleep(30);
                long t0 = System.nanoTime();
                latRuns.get(e).accept(s);
                if (i >= 0) {
                    lat[e][i] = (System.nanoTime() - t0) / 1e6;
                }
            }
        }

        // 5. summary
        double ortRate = median(ortSorted.rates());
        System.out.println();
        System.out.println("| configuration | sentences/s (median of " + a.rounds() + ") | per-round | vs ORT sorted (median of per-round ratios) |");
        System.out.println("| --- | --- | --- | --- |");
        Map<String, Double> ratio = new LinkedHashMap<>();
        for (Config c : configs) {
            List<Double> rs = new ArrayList<>();
            for (int r = 0; r < c.rates().size(); r++) {
                rs.add(c.rates().get(r) / ortSorted.rates().get(r));
            }
            ratio.put(c.name(), median(rs));
            System.out.printf(Locale.ROOT, "| %s | %.1f | %s | %.2fx |%n", c.name(), median(c.rates()),
                    list(c.rates(), "%.1f"), median(rs));
        }
        System.out.println();
        System.out.println("| one sentence (median of " + calls + " calls, ms) | ms | vs ORT |");
        System.out.println("| --- | --- | --- |");
        double ortLat = median(lat[0]);
        for (int e = 0; e < latNames.size(); e++) {
            System.out.printf(Locale.ROOT, "| %s | %.2f | %.2fx |%n", latNames.get(e), median(lat[e]), median(lat[e]) / ortLat);
        }
        System.out.println();
        System.out.println("| fresh JVM | model ready s (each run) | + tokenizer s | first result s | peak RSS MiB (VmHWM) |");
        System.out.println("| --- | --- | --- | --- | --- |");
        for (Map.Entry<String, List<ChildResult>> e : children.entrySet()) {
            List<ChildResult> rs = e.getValue();
            System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s |%n", e.getKey(),
                    list(rs.stream().map(ChildResult::readyS).toList(), "%.3f"),
                    list(rs.stream().map(ChildResult::tokS).toList(), "%.3f"),
                    list(rs.stream().map(ChildResult::firstS).toList(), "%.3f"),
                    list(rs.stream().map(ChildResult::hwm).toList(), "%.0f"));
        }

        // 6. targets
        System.out.println();
        String bestFp32 = ours32.name(), bestReduced = null;
        for (Config c : configs) {
            if (!c.name().startsWith("ours ")) {
                continue;
            }
            boolean red = c.name().contains("bf16") || c.name().contains("int8");
            if (red && (bestReduced == null || ratio.get(c.name()) > ratio.get(bestReduced))) {
                bestReduced = c.name();
            } else if (!red && ratio.get(c.name()) > ratio.get(bestFp32)) {
                bestFp32 = c.name();
            }
        }
        String readyBest = null;
        double oursReady = 99;
        for (Map.Entry<String, List<ChildResult>> e : children.entrySet()) {
            double m = e.getValue().stream().mapToDouble(ChildResult::readyS).min().orElse(99);
            if (e.getKey().startsWith("ours") && e.getKey().endsWith("FP32") && m < oursReady) {
                oursReady = m;
                readyBest = e.getKey();
            }
        }
        target("fp32 end to end vs ORT sorted >= 1.0x (" + bestFp32 + ")", ratio.get(bestFp32), 1.0);
        if (a.inputOrder()) {
            target("fp32 vs ORT input order >= 3x", ratio.get(bestFp32) / ratio.get(ortInput.name()), 3.0);
        }
        target("reduced precision vs ORT sorted >= 1.6x (" + bestReduced + ")",
                bestReduced == null ? 0 : ratio.get(bestReduced), 1.6);
        target("pure-Java kernels (vector fp32) vs ORT sorted >= 0.6x", ratio.get(ours32.name()), 0.6);
        System.out.printf(Locale.ROOT, "  %-56s %.3f s (<= 0.5 s) %s%n", "model ready, fresh JVM (best: " + readyBest + ")",
                oursReady, oursReady <= 0.5 ? "met" : "NOT MET");
        int bestLat = 1;
        for (int e = 1; e < latNames.size(); e++) {
            if (!latNames.get(e).contains("BF16") && !latNames.get(e).contains("INT8")
                    && median(lat[e]) < median(lat[bestLat])) {
                bestLat = e;
            }
        }
        double l = median(lat[bestLat]) / ortLat;
        System.out.printf(Locale.ROOT, "  %-56s %.2fx (<= 1.0x) %s%n", "one-sentence latency fp32 vs ORT (" + latNames.get(bestLat) + ")", l,
                l <= 1.0 ? "met" : "NOT MET");

        ort.close();
        for (OursEmbedder o : ours.values()) {
            o.close();
        }
        if (failed) {
            System.out.println("ACCURACY CHECK FAILED");
        }
        return failed ? 1 : 0;
    }

    static void target(String what, double got, double need) {
        System.out.printf(Locale.ROOT, "  %-56s %.2fx (>= %.1fx) %s%n", what, got, need, got >= need ? "met" : "NOT MET");
    }

    static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).toArray();
        return median(a);
    }

    static double median(double[] xs) {
        double[] a = xs.clone();
        Arrays.sort(a);
        int n = a.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
    }

    static String list(List<Double> xs, String f) {
        List<String> s = new ArrayList<>();
        for (double x : xs) {
            s.add(String.format(Locale.ROOT, f, x));
        }
        return String.join(", ", s);
    }

    static String fmt(Map<String, Double> m) {
        List<String> s = new ArrayList<>();
        m.forEach((k, v) -> s.add(String.format(Locale.ROOT, "%s %.3f s", k, v)));
        return String.join(", ", s);
    }
}
