package dev.xlmr.server;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/**
 * The server's Prometheus metrics, in their own registry, exposed at {@code GET /metrics} in the text
 * format: requests by route and status, request latency, engine batch sizes (inputs, tokens, callers
 * merged), model time per batch, and the queue depth ({@code xlmr_*}); and text-embeddings-inference's
 * own metrics under TEI's names, labels and buckets ({@code te_*}, from TEI's router and core), so that
 * dashboards and alerts written for TEI read this server: {@code te_request_count}/{@code _success}
 * {@code {method="single"|"batch"}}, {@code te_request_failure{err=...}}, the {@code te_request_*},
 * {@code te_embed_*} and {@code te_predict_*} durations (total, tokenization, queue, inference),
 * {@code te_request_input_length}, {@code te_batch_next_size}/{@code _tokens} and {@code te_queue_size}.
 * TEI's counters carry no {@code _total} suffix (its exporter writes the name as given), which the
 * Prometheus Java client always adds, so those few lines are written here.
 *
 * <pre>{@code
 * ServerMetrics m = new ServerMetrics(batcher::queueDepth, 512);
 * m.request("/embed", 200, 0.012);
 * m.teiCount("te_request_count", "method", "single");
 * String text = m.scrape();   // "# HELP xlmr_requests_total ...", "te_request_count{method=\"single\"} 1"
 * }</pre>
 */
public final class ServerMetrics implements DynamicBatcher.Listener {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Histogram latency;
    private final Histogram batchInputs;
    private final Histogram batchTokens;
    private final Histogram batchCallers;
    private final Histogram inference;
    private final Counter rejected;
    private final Histogram teRequestDuration, teRequestTokenization, teRequestQueue, teRequestInference;
    private final Histogram teEmbedDuration, teEmbedTokenization, teEmbedQueue, teEmbedInference;
    private final Histogram tePredictDuration, tePredictTokenization, tePredictQueue, tePredictInference;
    private final Histogram teInputLength, teBatchSize, teBatchTokens;
    /** TEI's counters by series ({@code name} or {@code name{label="value"}}), in name order. */
    private final Map<String, LongAdder> teCounters = new ConcurrentSkipListMap<>();

    /** TEI's help lines of its counters (its exporter writes none; these say what they count here). */
    private static final Map<String, String> TE_COUNTER_HELP = Map.of(
            "te_request_count", "Inference requests whose inputs were read, by method (single input or batch)",
            "te_request_success", "Inference requests answered 200, by method",
            "te_request_failure", "Inference requests that failed, by err (validation, batch_size, tokenization, overloaded, model_type, inference)",
            "te_embed_count", "Inputs embedded (one per input of a successful embedding request)",
            "te_embed_success", "Inputs embedded successfully",
            "te_predict_count", "Inputs classified or re-ranked (one per input of a successful request)",
            "te_predict_success", "Inputs classified or re-ranked successfully");

    /** TEI's duration buckets: 35 steps of x1.5 from 15 us (router/src/prometheus.rs). */
    static double[] teDurationBuckets() {
        double[] b = new double[35];
        double v = 0.00001;
        for (int i = 0; i < b.length; i++) b[i] = v *= 1.5;
        return b;
    }

    /** Powers of two 2^0 .. 2^(n-1) no larger than {@code max}. */
    static double[] powersOfTwo(int n, long max) {
        int k = 0;
        while (k < n && (1L << k) <= max) k++;
        double[] b = new double[Math.max(1, k)];
        for (int i = 0; i < b.length; i++) b[i] = 1L << i;
        return b;
    }

    private Histogram teHistogram(String name, String help, double... bounds) {
        return Histogram.builder().name(name).help(help).classicOnly().classicUpperBounds(bounds).withoutExemplars().register(registry);
    }

    /**
     * @param queueDepth     read at every scrape
     * @param maxInputLength the model's limit: the last bucket of {@code te_request_input_length}, as TEI
     */
    public ServerMetrics(IntSupplier queueDepth, int maxInputLength) {
        requests = Counter.builder().name("xlmr_requests_total").help("HTTP requests by route and status")
                .labelNames("route", "status").register(registry);
        latency = Histogram.builder().name("xlmr_request_duration_seconds").help("HTTP request latency by route")
                .labelNames("route").classicOnly()
                .classicUpperBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
                .withoutExemplars().register(registry);
        batchInputs = Histogram.builder().name("xlmr_batch_inputs").help("Inputs per model batch")
                .classicOnly().classicExponentialUpperBounds(1, 2, 12).withoutExemplars().register(registry);
        batchTokens = Histogram.builder().name("xlmr_batch_tokens").help("Tokens per model batch")
                .classicOnly().classicExponentialUpperBounds(8, 2, 14).withoutExemplars().register(registry);
        batchCallers = Histogram.builder().name("xlmr_batch_requests").help("Requests merged into one model batch")
                .classicOnly().classicExponentialUpperBounds(1, 2, 10).withoutExemplars().register(registry);
        inference = Histogram.builder().name("xlmr_batch_duration_seconds").help("Model time per batch")
                .classicOnly().classicExponentialUpperBounds(0.0001, 2.5, 14).withoutExemplars().register(registry);
        rejected = Counter.builder().name("xlmr_queue_rejections_total")
                .help("Requests turned away with 429 because the queue was full").register(registry);
        GaugeWithCallback.builder().name("xlmr_queue_depth").help("Requests waiting for the model")
                .callback(cb -> cb.call(queueDepth.getAsInt())).register(registry);
        double[] d = teDurationBuckets();
        teRequestDuration = teHistogram("te_request_duration", "Inference request time, from arrival to answer", d);
        teRequestTokenization = teHistogram("te_request_tokenization_duration", "Tokenization time of an inference request", d);
        teRequestQueue = teHistogram("te_request_queue_duration", "Time an inference request waited for the model", d);
        teRequestInference = teHistogram("te_request_inference_duration", "Model time of an inference request", d);
        teEmbedDuration = teHistogram("te_embed_duration", "Per embedded input: its request's total time", d);
        teEmbedTokenization = teHistogram("te_embed_tokenization_duration", "Per embedded input: tokenization time", d);
        teEmbedQueue = teHistogram("te_embed_queue_duration", "Per embedded input: queue time", d);
        teEmbedInference = teHistogram("te_embed_inference_duration", "Per embedded input: model time", d);
        tePredictDuration = teHistogram("te_predict_duration", "Per classified input: its request's total time", d);
        tePredictTokenization = teHistogram("te_predict_tokenization_duration", "Per classified input: tokenization time", d);
        tePredictQueue = teHistogram("te_predict_queue_duration", "Per classified input: queue time", d);
        tePredictInference = teHistogram("te_predict_inference_duration", "Per classified input: model time", d);
        teInputLength = teHistogram("te_request_input_length", "Tokens per input (after truncation)", powersOfTwo(20, maxInputLength));
        teBatchSize = teHistogram("te_batch_next_size", "Inputs per model batch", powersOfTwo(13, Long.MAX_VALUE));
        teBatchTokens = teHistogram("te_batch_next_tokens", "Tokens per model batch", powersOfTwo(21, Long.MAX_VALUE));
        GaugeWithCallback.builder().name("te_queue_size").help("Requests waiting for the model")
                .callback(cb -> cb.call(queueDepth.getAsInt())).register(registry);
    }

    /** Adds one to a TEI counter, with one label or none ({@code label} null). */
    public void teiCount(String name, String label, String value) {
        teiCount(name, label, value, 1);
    }

    /** Adds {@code n} to a TEI counter. */
    public void teiCount(String name, String label, String value, long n) {
        if (!TE_COUNTER_HELP.containsKey(name)) throw new IllegalArgumentException("not a TEI counter: " + name);
        String series = label == null ? name : name + "{" + label + "=\"" + value + "\"}";
        teCounters.computeIfAbsent(series, k -> new LongAdder()).add(n);
    }

    /** A token count of one input, as TEI's {@code te_request_input_length}. */
    public void teiInputLength(int tokens) {
        teInputLength.observe(tokens);
    }

    /**
     * A successful inference request of {@code inputs} inputs: TEI's request durations once, and per
     * input the {@code te_embed_*} (embedding) or {@code te_predict_*} (classification, re-ranking) ones.
     */
    public void teiSuccess(String method, boolean embedding, int inputs, double total, double tokenization, double queue,
                           double inference) {
        teiCount("te_request_success", "method", method);
        teRequestDuration.observe(total);
        teRequestTokenization.observe(tokenization);
        teRequestQueue.observe(queue);
        teRequestInference.observe(inference);
        String kind = embedding ? "te_embed" : "te_predict";
        teiCount(kind + "_count", null, null, inputs);
        teiCount(kind + "_success", null, null, inputs);
        Histogram dd = embedding ? teEmbedDuration : tePredictDuration, dt = embedding ? teEmbedTokenization : tePredictTokenization;
        Histogram dq = embedding ? teEmbedQueue : tePredictQueue, di = embedding ? teEmbedInference : tePredictInference;
        for (int i = 0; i < inputs; i++) {
            dd.observe(total);
            dt.observe(tokenization);
            dq.observe(queue);
            di.observe(inference);
        }
    }

    /** Counts a finished HTTP request. */
    public void request(String route, int status, double seconds) {
        requests.labelValues(route, Integer.toString(status)).inc();
        latency.labelValues(route).observe(seconds);
    }

    /** Counts a request rejected because the queue was full. */
    public void rejected() {
        rejected.inc();
    }

    @Override
    public void batchDone(int items, int tokens, int submissions, long nanos) {
        batchInputs.observe(items);
        batchTokens.observe(tokens);
        batchCallers.observe(submissions);
        inference.observe(nanos / 1e9);
        teBatchSize.observe(items);
        teBatchTokens.observe(tokens);
    }

    /** All metrics in the Prometheus text format (version 0.0.4). */
    public String scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        StringBuilder sb = new StringBuilder(out.toString(java.nio.charset.StandardCharsets.UTF_8));
        String family = null;
        for (Map.Entry<String, LongAdder> e : teCounters.entrySet()) {
            String name = e.getKey().replaceFirst("\\{.*", "");
            if (!name.equals(family)) {
                family = name;
                sb.append("# HELP ").append(name).append(' ').append(TE_COUNTER_HELP.get(name)).append('\n');
                sb.append("# TYPE ").append(name).append(" counter\n");
            }
            sb.append(e.getKey()).append(' ').append(String.format(Locale.ROOT, "%d", e.getValue().sum())).append('\n');
        }
        return sb.toString();
    }

    /** The content type of {@link #scrape()}. */
    public static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
