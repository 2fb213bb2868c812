package dev.xlmr.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.nova.Annotations;
import dev.xlmr.nova.FileType;
import dev.xlmr.nova.FramingOptions;
import dev.xlmr.nova.FreeAnnotation;
import dev.xlmr.nova.SsiStream;
import dev.xlmr.nova.XlmRobertaModule;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * Load test of the server on loopback (run by {@code bench/server-load.sh}, not by the build): starts a
 * server on a model, runs concurrent clients against {@code POST /embed} (or, with {@code --mix mixed},
 * against the embedding, OpenAI, similarity and tokenize routes with 10% invalid requests) for a fixed
 * time (and at most a fixed number of requests), reports errors, 5xx, 429s, latency percentiles,
 * throughput in model inputs and the resident memory over time, and compares the throughput with the
 * same service embedding the same texts offline in large batches. Then it runs a NOVA {@code /process}
 * job on a generated one-hour transcript at 40 ms frames (90,000 frames) end to end.
 * With {@code --clients 0} only the NOVA job runs, followed by its peer: the same window texts embedded
 * directly by the same service.
 *
 * <pre>{@code
 * java -cp xlmr-cli/target/xlmr.jar dev.xlmr.server.LoadBenchmark --model testdata/xlmr-base \
 *     --texts testdata/tokenizer/tok_public.txt --clients 64 --seconds 60 [--mix mixed]
 * }</pre>
 */
public final class LoadBenchmark {
    private LoadBenchmark() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>(Map.of("--clients", "64", "--seconds", "60", "--warmup-seconds", "5",
                "--inputs-per-request", "1", "--max-requests", "5000000", "--transcript-seconds", "3600", "--max-queue", "512",
                "--mix", "embed", "--timeout-seconds", "60"));
        for (int i = 0; i + 1 < args.length; i += 2) a.put(args[i], args[i + 1]);
        if (!a.containsKey("--model")) {
            System.err.println("usage: LoadBenchmark --model DIR [--texts FILE] [--clients 64 (0: the NOVA job alone)] [--seconds 60] [--warmup-seconds 5]"
                    + " [--inputs-per-request 1] [--max-requests N] [--transcript-seconds 3600] [--max-queue 512] [--mix embed|mixed]"
                    + " [--timeout-seconds 60]");
            System.exit(2);
        }
        Path model = Path.of(a.get("--model"));
        int clients = Integer.parseInt(a.get("--clients"));
        int seconds = Integer.parseInt(a.get("--seconds"));
        int warmup = Integer.parseInt(a.get("--warmup-seconds"));
        int perRequest = Integer.parseInt(a.get("--inputs-per-request"));
        long maxRequests = Long.parseLong(a.get("--max-requests"));
        int transcriptSeconds = Integer.parseInt(a.get("--transcript-seconds"));
        // the server's request timeout and the clients': a slow model with 64 clients queues for longer than 60 s
        int timeout = Integer.parseInt(a.get("--timeout-seconds"));
        boolean mixed = switch (a.get("--mix")) {
            case "embed" -> false;
            case "mixed" -> true;
            default -> throw new IllegalArgumentException("--mix must be embed or mixed, got " + a.get("--mix"));
        };
        List<String> texts = texts(a.get("--texts"));
        Path root = Files.createTempDirectory("xlmr-load-");
        System.out.printf(Locale.ROOT, "machine: %d cores, %s %s, Java %s, max heap %d MiB%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.arch"), System.getProperty("java.version"),
                Runtime.getRuntime().maxMemory() >> 20);
        try (LocalInferenceService service = LocalInferenceService.load(model, model.toString(), 0)) {
            texts = texts.stream().filter(t -> service.prepare(List.of(t), null, false).getFirst().tokens() <= service.info().maxInputLength()).toList();
            System.out.printf(Locale.ROOT, "model: %s (hidden %d), %d texts, %.1f tokens on average%n", model,
                    service.info().hiddenSize(), texts.size(), texts.stream().mapToInt(t -> service.prepare(List.of(t), null, false).getFirst().tokens()).average().orElse(0));
            String loadBefore = loadAverage();
            System.out.println("load average before: " + loadBefore);
            if (clients == 0) {
                // the NOVA job alone: no load phase, the offline peer is the same window texts embedded directly
                try (XlmrServer server = XlmrServer.start(service, ServerOptions.defaults().port(0).novaRoot(root))) {
                    nova(server.uri(), root, texts, transcriptSeconds, service);
                }
                System.out.println("load average after: " + loadAverage());
                return;
            }
            // as `xlmr serve` does before it listens: the largest batch once, so that memory is sized from the start
            long w0 = System.nanoTime();
            int warmTokens = service.warmUp(ServerOptions.defaults().maxBatchTokens());
            System.out.printf(Locale.ROOT, "warm-up: one batch of %d tokens in %.1f s%n", warmTokens, (System.nanoTime() - w0) / 1e9);
            // the first offline phase also warms the JIT up: 20 s at least before it measures
            double before = offline(service, texts, Math.max(20, warmup), Math.max(5, seconds / 6));
            ServerOptions opts = ServerOptions.defaults().port(0).novaRoot(root).maxQueue(Integer.parseInt(a.get("--max-queue")))
                    .requestTimeoutMs(timeout * 1000L);
            try (XlmrServer server = XlmrServer.start(service, opts)) {
                URI base = server.uri();
                int dims = Math.max(1, service.info().hiddenSize() / 3); // the OpenAI requests' `dimensions`
                System.out.printf(Locale.ROOT, "server: %s, %d clients, %s, %d s warm-up, %d s measured%n",
                        base, clients, mixed ? "mixed routes (" + MIX + ")" : perRequest + " input(s) per request to /embed",
                        warmup, seconds);
                run(base, texts, clients, perRequest, warmup, Long.MAX_VALUE, mixed, dims, timeout);
                double[] m0 = modelTime(base);
                Result r = run(base, texts, clients, perRequest, seconds, maxRequests, mixed, dims, timeout);
                double[] m1 = modelTime(base);
                r.print();
                System.out.printf(Locale.ROOT, "model worker: busy %.0f%% of the time, %.0f us per input in batches of %.1f inputs "
                                + "on average%n", 100 * (m1[0] - m0[0]) / r.seconds(), 1e6 * (m1[0] - m0[0]) / (m1[1] - m0[1]),
                        (m1[1] - m0[1]) / (m1[2] - m0[2]));
                System.out.println("resident memory (MiB) every 60 s: " + r.rssTimeline());
                System.out.println("load average after: " + loadAverage());
                double after = offline(service, texts, 0, Math.max(5, seconds / 6));
                double offline = (before + after) / 2; // the machine may be shared: the mean of both sides
                double ratio = r.inputsPerSecond() / offline;
                System.out.printf(Locale.ROOT, "server / offline throughput: %.2f (target >= 0.90)%n", ratio);
                if (transcriptSeconds > 0) nova(base, root, texts, transcriptSeconds, null);
                Map<String, Object> summary = new LinkedHashMap<>();
                summary.put("requests", r.ok);
                summary.put("invalid_answered_4xx", r.invalid);
                summary.put("errors", r.errors);
                summary.put("status_5xx", r.serverErrors);
                summary.put("rejected_429", r.rejected);
                summary.put("p50_ms", r.percentile(50));
                summary.put("p99_ms", r.percentile(99));
                summary.put("requests_per_s", r.requestsPerSecond());
                summary.put("inputs_per_s", r.inputsPerSecond());
                summary.put("offline_inputs_per_s", offline);
                summary.put("ratio", ratio);
                summary.put("rss_mib", r.rssMib());
                summary.put("rss_mib_per_minute", Result.perMinute(r.rssKib()));
                summary.put("rss_anon_mib_per_minute", Result.perMinute(r.anonKib()));
                summary.put("rss_file_mib_per_minute", Result.perMinute(r.fileKib()));
                summary.put("committed_heap_mib_per_minute", Result.perMinute(r.heapKib()));
                summary.put("rss_growth_after_2_min_mib", r.rssGrowthAfterWarmupMib());
                summary.put("load_average_before_after", List.of(loadBefore, loadAverage()));
                System.out.println(Exchange.JSON.writeValueAsString(summary));
                if (r.errors > 0 || r.serverErrors > 0) System.exit(1);
            }
        } finally {
            try (var s = Files.walk(root)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    /** 1, 5 and 15 minute load averages (Linux), to judge whether other work shared the cores. */
    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** Seconds the model ran, inputs it embedded, and batches, from /metrics. */
    private static double[] modelTime(URI base) throws Exception {
        String m = HttpClient.newHttpClient().send(HttpRequest.newBuilder(base.resolve("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        double[] out = new double[3];
        for (String line : m.lines().toList()) {
            String[] f = line.split(" ");
            if (f.length != 2) continue;
            switch (f[0]) {
                case "xlmr_batch_duration_seconds_sum" -> out[0] = Double.parseDouble(f[1]);
                case "xlmr_batch_inputs_sum" -> out[1] = Double.parseDouble(f[1]);
                case "xlmr_batch_inputs_count" -> out[2] = Double.parseDouble(f[1]);
                default -> { }
            }
        }
        return out;
    }

    private static List<String> texts(String file) throws IOException {
        List<String> out = new ArrayList<>();
        if (file != null) {
            for (String line : Files.readAllLines(Path.of(file), StandardCharsets.UTF_8)) {
                if (!line.isBlank() && line.length() >= 10) out.add(line.strip());
            }
        }
        if (out.isEmpty()) {
            Random r = new Random(1);
            String[] words = {"the", "server", "merges", "requests", "into", "batches", "le", "modèle", "calcule", "des",
                    "vecteurs", "die", "Anfrage", "wartet", "kurz", "на", "сервере", "очередь"};
            for (int i = 0; i < 2000; i++) {
                int n = 4 + r.nextInt(20);
                out.add(r.ints(n, 0, words.length).mapToObj(k -> words[k]).collect(Collectors.joining(" ")));
            }
        }
        return out;
    }

    /** Inputs per second of the service called directly in batches of 64 texts, one thread. */
    private static double offline(InferenceService service, List<String> texts, int warmupSeconds, int seconds) {
        long done = 0;
        long start = System.nanoTime(), measureFrom = start + warmupSeconds * 1_000_000_000L, end = measureFrom + seconds * 1_000_000_000L;
        int at = 0;
        boolean measuring = false;
        long t0 = 0;
        while (true) {
            long now = System.nanoTime();
            if (!measuring && now >= measureFrom) {
                measuring = true;
                t0 = now;
                done = 0;
            }
            if (now >= end) break;
            List<String> batch = new ArrayList<>(64);
            for (int i = 0; i < 64; i++) batch.add(texts.get(at++ % texts.size()));
            service.embed(batch, Pooling.AUTO, true, false);
            done += batch.size();
        }
        double perSecond = done / ((System.nanoTime() - t0) / 1e9);
        System.out.printf(Locale.ROOT, "offline: %.0f inputs/s = %.0f us per input (service.embed, batches of 64, one thread, %d s)%n",
                perSecond, 1e6 / perSecond, seconds);
        return perSecond;
    }

    /**
     * A load phase: valid requests answered 200, invalid ones answered 4xx as they should be, errors (any
     * other answer or a failed exchange, 5xx among them), 429s, latencies of the 200s, model inputs of the
     * 200s, and the process's resident memory sampled every 10 s.
     */
    private record Result(long ok, long invalid, long errors, long serverErrors, long rejected, long inputs,
                          long[] latenciesNanos, double seconds, List<Long> rssKib, List<Long> anonKib, List<Long> fileKib,
                          List<Long> heapKib, List<Long> oldAfterGcKib) {
        double percentile(double p) {
            if (latenciesNanos.length == 0) return Double.NaN;
            int i = (int) Math.min(latenciesNanos.length - 1, Math.ceil(p / 100 * latenciesNanos.length) - 1);
            return latenciesNanos[Math.max(0, i)] / 1e6;
        }

        double requestsPerSecond() {
            return ok / seconds;
        }

        double inputsPerSecond() {
            return inputs / seconds;
        }

        /** Every sixth sample (one a minute) and the last, in MiB. */
        static String timeline(List<Long> kib) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < kib.size(); i += 6) sb.append(sb.isEmpty() ? "" : " ").append(kib.get(i) >> 10);
            if (!kib.isEmpty() && (kib.size() - 1) % 6 != 0) sb.append(" ").append(kib.getLast() >> 10);
            return sb.toString();
        }

        /**
         * Resident memory (VmRSS, and its anonymous and file-backed parts: the mapped checkpoint is file-backed), the
         * committed Java heap and the old generation after the last GC, one a minute.
         */
        String rssTimeline() {
            return timeline(rssKib) + "; RssAnon: " + timeline(anonKib) + "; RssFile: " + timeline(fileKib)
                    + "; committed heap: " + timeline(heapKib) + "; old generation after GC: " + timeline(oldAfterGcKib)
                    + "; at the end " + rssParts();
        }

        /** One sample a minute (and the last) in MiB, for the summary. */
        static List<Long> perMinute(List<Long> kib) {
            List<Long> out = new ArrayList<>();
            for (int i = 0; i < kib.size(); i += 6) out.add(kib.get(i) >> 10);
            if (!kib.isEmpty() && (kib.size() - 1) % 6 != 0) out.add(kib.getLast() >> 10);
            return out;
        }

        /**
         * VmRSS growth in MiB from the sample at two minutes (buffers sized, heap pages touched) to the largest one
         * after it: what "flat" is judged by; null when the phase is shorter.
         */
        Long rssGrowthAfterWarmupMib() {
            if (rssKib.size() <= 12) return null;
            long at = rssKib.get(12), max = rssKib.subList(12, rssKib.size()).stream().mapToLong(Long::longValue).max().orElse(at);
            return (max - at) >> 10;
        }

        /** First, last and largest sample, in MiB. */
        Map<String, Long> rssMib() {
            if (rssKib.isEmpty()) return Map.of();
            return Map.of("first", rssKib.getFirst() >> 10, "last", rssKib.getLast() >> 10,
                    "max", rssKib.stream().mapToLong(Long::longValue).max().orElse(0) >> 10);
        }

        void print() {
            System.out.printf(Locale.ROOT, "requests: %d ok, %d invalid answered 4xx, %d errors (%d of them 5xx), %d rejected with 429"
                    + " in %.1f s%n", ok, invalid, errors, serverErrors, rejected, seconds);
            System.out.printf(Locale.ROOT, "latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms%n",
                    percentile(50), percentile(90), percentile(99), percentile(100));
            System.out.printf(Locale.ROOT, "throughput: %.0f requests/s, %.0f model inputs/s%n", requestsPerSecond(), inputsPerSecond());
        }
    }

    /** The mixed load's share of each kind of request, in percent. */
    static final String MIX = "35% /embed 1 input, 20% /embed 4, 15% /v1/embeddings 8 (float, base64, dimensions),"
            + " 5% /embeddings 1, 10% /similarity 1+3, 5% /tokenize, 10% invalid (400/404/405/415/422)";

    /** One request of the load: where, what, whether it must succeed, and how many inputs the model embeds. */
    private record Call(String method, String path, String contentType, String body, boolean valid, int inputs) {}

    private static String list(List<String> texts, Random r, int n) {
        StringBuilder sb = new StringBuilder("[");
        for (int k = 0; k < n; k++) sb.append(k > 0 ? "," : "").append(json(texts.get(r.nextInt(texts.size()))));
        return sb.append(']').toString();
    }

    private static Call mixedCall(List<String> texts, Random r, int dims) {
        int p = r.nextInt(100);
        String one = json(texts.get(r.nextInt(texts.size())));
        String j = "application/json";
        if (p < 35) return new Call("POST", "/embed", j, "{\"inputs\":" + one + "}", true, 1);
        if (p < 55) return new Call("POST", "/embed", j, "{\"inputs\":" + list(texts, r, 4) + "}", true, 4);
        if (p < 70) {
            String extra = switch (p % 3) {
                case 0 -> ",\"encoding_format\":\"base64\"";
                case 1 -> ",\"dimensions\":" + dims;
                default -> "";
            };
            return new Call("POST", "/v1/embeddings", j, "{\"model\":\"m\",\"input\":" + list(texts, r, 8) + extra + "}", true, 8);
        }
        if (p < 75) return new Call("POST", "/embeddings", j, "{\"input\":" + one + "}", true, 1);
        if (p < 85) {
            return new Call("POST", "/similarity", j, "{\"inputs\":{\"source_sentence\":" + one + ",\"sentences\":"
                    + list(texts, r, 3) + "}}", true, 4);
        }
        if (p < 90) return new Call("POST", "/tokenize", j, "{\"inputs\":" + one + "}", true, 0);
        return switch (p) {
            case 90 -> new Call("POST", "/embed", j, "{\"inputs\":\"\"}", false, 0);                 // 400 empty
            case 91 -> new Call("POST", "/embed", j, "{\"inputs\":[" + one, false, 0);               // 400 malformed JSON
            case 92 -> new Call("POST", "/v1/embeddings", j, "{\"input\":" + one + ",\"dimensions\":0}", false, 0); // 422
            case 93 -> new Call("POST", "/embed", j, "{\"inputs\":" + list(texts, r, 33) + "}", false, 0); // 422 batch size
            case 94 -> new Call("POST", "/embeddingz", j, "{\"input\":" + one + "}", false, 0);       // 404
            case 95 -> new Call("GET", "/embed", null, null, false, 0);                               // 405
            case 96 -> new Call("POST", "/embed", j, "{\"inputs\":\"\\ud800 lone\"}", false, 0);    // 400 lone surrogate
            case 97 -> new Call("POST", "/embed", "text/plain", one, false, 0);                       // 415
            case 98 -> new Call("POST", "/embed", j, "{\"inputs\":[[0, 999999999, 2]]}", false, 0);   // 422 token id
            default -> new Call("POST", "/v1/embeddings", j, "{\"input\":" + one + ",\"encoding_format\":\"hex\"}", false, 0);
        };
    }

    /** The old generation's use after its last collection, in KiB (what a leak would grow), or -1. */
    private static long oldAfterGcKib() {
        for (var pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
            var after = pool.getCollectionUsage();
            if (after != null && pool.getName().contains("Old")) return after.getUsed() >> 10;
        }
        return -1;
    }

    /** VmRSS's parts (anonymous, file-backed such as the mapped checkpoint, shared), from /proc/self/status. */
    private static String rssParts() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("Rss"))
                    .map(l -> l.replaceAll("\\s+", " ")).collect(Collectors.joining(", "));
        } catch (IOException | RuntimeException e) {
            return "RssAnon/RssFile unknown";
        }
    }

    /** VmRSS, RssAnon and RssFile of the process in KiB (Linux), -1 for those unknown. */
    private static long[] rssKib() {
        long[] out = {-1, -1, -1};
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                int i = line.startsWith("VmRSS:") ? 0 : line.startsWith("RssAnon:") ? 1 : line.startsWith("RssFile:") ? 2 : -1;
                if (i >= 0) out[i] = Long.parseLong(line.replaceAll("\\D", ""));
            }
        } catch (IOException | RuntimeException e) {
            return out;
        }
        return out;
    }

    /**
     * {@code clients} threads sending requests until the time or the request budget is used up: one input
     * per request to /embed, or (mixed) the requests of {@link #MIX}.
     */
    private static Result run(URI base, List<String> texts, int clients, int perRequest, int seconds, long maxRequests,
                              boolean mixed, int dims, int timeoutSeconds) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        AtomicLong budget = new AtomicLong(maxRequests), errors = new AtomicLong(), rejected = new AtomicLong(),
                invalid = new AtomicLong(), serverErrors = new AtomicLong(), inputs = new AtomicLong();
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        List<long[]> lat = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        long[] counts = new long[clients];
        List<Long> rss = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Long> anon = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Long> file = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Long> heap = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Long> old = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread sampler = Thread.ofPlatform().daemon().start(() -> {
            try {
                while (System.nanoTime() < deadline) {
                    long[] m = rssKib();
                    rss.add(m[0]);
                    anon.add(m[1]);
                    file.add(m[2]);
                    heap.add(Runtime.getRuntime().totalMemory() >> 10);
                    old.add(oldAfterGcKib());
                    Thread.sleep(10_000);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        long start = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            long[] mine = new long[1 << 16];
            lat.add(mine);
            int id = c;
            threads.add(Thread.ofVirtual().start(() -> {
                long[] l = mine;
                int n = 0;
                Random r = new Random(id);
                while (System.nanoTime() < deadline && budget.getAndDecrement() > 0) {
                    Call call = mixed ? mixedCall(texts, r, dims)
                            : new Call("POST", "/embed", "application/json", "{\"inputs\":" + list(texts, r, perRequest) + "}", true, perRequest);
                    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(call.path()))
                            .timeout(Duration.ofSeconds(timeoutSeconds + 10));
                    if (call.contentType() != null) b.header("Content-Type", call.contentType());
                    b.method(call.method(), call.body() == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(call.body()));
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<String> res = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
                        long dt = System.nanoTime() - t0;
                        int status = res.statusCode();
                        if (status >= 500) serverErrors.incrementAndGet();
                        if (call.valid() && status == 200) {
                            if (n == l.length) l = Arrays.copyOf(l, 2 * n);
                            l[n++] = dt;
                            inputs.addAndGet(call.inputs());
                        } else if (status == 429) {
                            rejected.incrementAndGet();
                        } else if (!call.valid() && status >= 400 && status < 500) {
                            invalid.incrementAndGet();
                        } else if (errors.incrementAndGet() <= 5) {
                            System.err.println("error " + status + " on " + call.method() + " " + call.path() + ": "
                                    + res.body().substring(0, Math.min(300, res.body().length())));
                        }
                    } catch (IOException | InterruptedException e) {
                        if (errors.incrementAndGet() <= 5) System.err.println("error on " + call.path() + ": " + e);
                    }
                }
                synchronized (lat) {
                    lat.set(id, l);
                    counts[id] = n;
                }
            }));
        }
        for (Thread t : threads) t.join();
        double elapsed = (System.nanoTime() - start) / 1e9;
        sampler.interrupt();
        long[] m = rssKib();
        rss.add(m[0]);
        anon.add(m[1]);
        file.add(m[2]);
        heap.add(Runtime.getRuntime().totalMemory() >> 10);
        old.add(oldAfterGcKib());
        long total = 0;
        for (long n : counts) total += n;
        long[] all = new long[(int) total];
        int at = 0;
        for (int c = 0; c < clients; c++) {
            System.arraycopy(lat.get(c), 0, all, at, (int) counts[c]);
            at += (int) counts[c];
        }
        Arrays.sort(all);
        return new Result(total, invalid.get(), errors.get(), serverErrors.get(), rejected.get(), inputs.get(), all, elapsed,
                List.copyOf(rss), List.copyOf(anon), List.copyOf(file), List.copyOf(heap), List.copyOf(old));
    }

    private static String json(String s) {
        try {
            return Exchange.JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A generated transcript of {@code seconds}: utterances of 1.5-4 s with pauses, through /process at 40 ms
     * frames. With {@code peer}, the job's distinct window texts are then embedded directly by that service
     * (batches of 16, the job's batch size, pooler output as the job's default): the model work alone.
     */
    private static void nova(URI base, Path root, List<String> texts, int seconds, InferenceService peer) throws Exception {
        Random r = new Random(7);
        List<FreeAnnotation.Label> labels = new ArrayList<>();
        double t = 0.2;
        while (true) {
            double len = 1.5 + 2.5 * r.nextDouble();
            if (t + len > seconds) break;
            labels.add(new FreeAnnotation.Label(t, t + len, texts.get(r.nextInt(texts.size())), 1f));
            t += len + 0.1 + 0.6 * r.nextDouble();
        }
        labels.add(new FreeAnnotation.Label(seconds - 0.5, seconds, "end", 1f)); // D = the last record's end
        FreeAnnotation transcript = FreeAnnotation.of("transcript", labels);
        Annotations.write(transcript, root.resolve("transcript.annotation"), FileType.ASCII);
        List<String> windows = new ArrayList<>(XlmRobertaModule.frame(transcript, FramingOptions.of(40, 960)).distinctTexts());
        int distinct = windows.size();
        String data = "[{\"src\":\"file:annotation:free\",\"type\":\"input\",\"id\":\"transcript\",\"uri\":\"transcript.annotation\"},"
                + "{\"src\":\"file:stream:SSIStream\",\"type\":\"output\",\"id\":\"embeddings\",\"uri\":\"embeddings.stream\"}]";
        Map<String, String> form = Map.of("jobID", "hour", "trainerFilePath", "modules\\xlm_roberta\\xlm_roberta.trainer",
                "data", data, "frame_size", "40ms", "left_context", "960ms");
        HttpClient http = HttpClient.newHttpClient();
        long t0 = System.nanoTime();
        post(http, base, "/process", form);
        int status;
        do {
            Thread.sleep(50);
            status = post(http, base, "/job_status", Map.of("jobID", "hour")).get("status").asInt();
        } while (status < 2);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        if (status != 2) {
            System.out.println("nova: job ended with status " + status + ": " + post(http, base, "/log", Map.of("jobID", "hour")));
            return;
        }
        SsiStream s = SsiStream.read(root.resolve("embeddings.stream"));
        String log = post(http, base, "/log", Map.of("jobID", "hour")).get("message").asText();
        System.out.printf(Locale.ROOT, "nova: %d s transcript (%d segments, %d distinct window texts) -> %d frames x %d at %.0f Hz"
                        + " in %.2f s end to end (%.0f frames/s); %s%n", seconds, labels.size(), distinct, s.numSamples(), s.dim(),
                s.sampleRate(), elapsed,
                s.numSamples() / elapsed, log.lines().filter(l -> l.contains("wrote")).findFirst().orElse("").replaceAll(".* - ", ""));
        if (peer != null) {
            long p0 = System.nanoTime();
            for (int i = 0; i < windows.size(); i += 16) {
                peer.embed(peer.prepare(windows.subList(i, Math.min(windows.size(), i + 16)), null, true), Pooling.POOLER, false);
            }
            double direct = (System.nanoTime() - p0) / 1e9;
            System.out.printf(Locale.ROOT, "nova peer: the %d distinct window texts embedded directly in batches of 16: %.2f s;"
                    + " end to end / direct = %.2f%n", distinct, direct, elapsed / direct);
        }
    }

    private static JsonNode post(HttpClient http, URI base, String path, Map<String, String> form) throws Exception {
        String body = form.entrySet().stream().map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8)).collect(Collectors.joining("&"));
        HttpResponse<String> res = http.send(HttpRequest.newBuilder(base.resolve(path))
                .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) throw new IOException(path + " answered " + res.statusCode() + ": " + res.body());
        return Exchange.JSON.readTree(res.body());
    }
}
