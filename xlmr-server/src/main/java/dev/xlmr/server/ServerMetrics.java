package dev.xlmr.server;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.IntSupplier;

/**
 * The server's Prometheus metrics, in their own registry, exposed at {@code GET /metrics} in the text
 * format: requests by route and status, request latency, engine batch sizes (inputs, tokens, callers
 * merged), model time per batch, and the queue depth.
 *
 * <pre>{@code
 * ServerMetrics m = new ServerMetrics(batcher::queueDepth);
 * m.request("/embed", 200, 0.012);
 * String text = m.scrape();   // "# HELP xlmr_requests_total ..."
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

    /** @param queueDepth read at every scrape */
    public ServerMetrics(IntSupplier queueDepth) {
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
    }

    /** All metrics in the Prometheus text format (version 0.0.4). */
    public String scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The content type of {@link #scrape()}. */
    public static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
