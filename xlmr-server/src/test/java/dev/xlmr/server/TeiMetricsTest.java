package dev.xlmr.server;

import static dev.xlmr.server.TestSupport.get;
import static dev.xlmr.server.TestSupport.postJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * TEI's Prometheus metrics (names, labels, types and bucket counts as TEI's router/src/prometheus.rs,
 * router/src/http/server.rs, core/src/infer.rs and core/src/queue.rs define them) after a known sequence
 * of requests: every count below follows from the requests sent.
 */
class TeiMetricsTest {

    /** Sample lines of a scrape: series (name with labels) to value. */
    static Map<String, Double> samples(String text) {
        Map<String, Double> out = new HashMap<>();
        for (String line : text.lines().toList()) {
            if (line.startsWith("#") || line.isBlank()) continue;
            int sp = line.lastIndexOf(' ');
            out.put(line.substring(0, sp), Double.parseDouble(line.substring(sp + 1)));
        }
        return out;
    }

    static long buckets(String text, String histogram) {
        return text.lines().filter(l -> l.startsWith(histogram + "_bucket{")).count();
    }

    @Test
    void embeddingRoutesCountAsTei() throws Exception {
        try (LocalInferenceService service = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base", 0);
             XlmrServer server = XlmrServer.start(service, ServerOptions.defaults().port(0))) {
            var b = server.uri();
            assertEquals(200, postJson(b, "/embed", Map.of("inputs", "hello world")).status());            // single
            assertEquals(200, postJson(b, "/embed", Map.of("inputs", List.of("a", "b c", "d e f"))).status()); // batch
            assertEquals(200, postJson(b, "/v1/embeddings", Map.of("input", List.of("one", "two"))).status()); // batch
            assertEquals(200, postJson(b, "/embed", Map.of("inputs", List.of(0, 35, 2))).status());       // token ids: single
            assertEquals(422, postJson(b, "/embed", Map.of("inputs", List.of(0, 8002, 2))).status());     // single, tokenization
            List<String> many = new ArrayList<>();
            for (int i = 0; i < 33; i++) many.add("x");
            assertEquals(422, postJson(b, "/embed", Map.of("inputs", many)).status());                     // batch, batch_size
            assertEquals(400, postJson(b, "/embed", Map.of("inputs", "")).status());                       // single, validation
            assertEquals(424, postJson(b, "/rerank", Map.of("query", "q", "texts", List.of("t"))).status()); // batch, model_type
            assertEquals(422, postJson(b, "/embed", Map.of("inputs", Map.of("not", "inputs"))).status());  // not counted (TEI: JSON rejected)
            assertEquals(200, postJson(b, "/tokenize", Map.of("inputs", "not an inference request")).status());

            String text = get(b, "/metrics").body();
            Map<String, Double> m = samples(text);
            assertEquals(4.0, m.get("te_request_count{method=\"single\"}"), text);
            assertEquals(4.0, m.get("te_request_count{method=\"batch\"}"), text);
            assertEquals(2.0, m.get("te_request_success{method=\"single\"}"), text);
            assertEquals(2.0, m.get("te_request_success{method=\"batch\"}"), text);
            assertEquals(1.0, m.get("te_request_failure{err=\"tokenization\"}"), text);
            assertEquals(1.0, m.get("te_request_failure{err=\"batch_size\"}"), text);
            assertEquals(1.0, m.get("te_request_failure{err=\"validation\"}"), text);
            assertEquals(1.0, m.get("te_request_failure{err=\"model_type\"}"), text);
            // inputs of the successful requests: 1 + 3 + 2 + 1
            assertEquals(7.0, m.get("te_embed_count"), text);
            assertEquals(7.0, m.get("te_embed_success"), text);
            assertEquals(7.0, m.get("te_embed_duration_count"), text);
            assertEquals(7.0, m.get("te_request_input_length_count"), text);
            for (String h : List.of("te_request_duration", "te_request_tokenization_duration", "te_request_queue_duration",
                    "te_request_inference_duration")) {
                assertEquals(4.0, m.get(h + "_count"), h + " in\n" + text);
            }
            assertTrue(m.get("te_request_inference_duration_sum") > 0, text);
            // every model input went through a batch: sizes and tokens add up to the requests'
            assertEquals(7.0, m.get("te_batch_next_size_sum"), text);
            assertEquals(m.get("te_request_input_length_sum"), m.get("te_batch_next_tokens_sum"), text);
            assertEquals(0.0, m.get("te_queue_size"), text);
            // TEI's types and buckets: counters without _total, 35 duration buckets (x1.5 from 15 us), input
            // lengths 2^0..2^k up to max_input_length (128 here: 8), batch sizes 2^0..2^12, batch tokens 2^0..2^20; +Inf each
            assertTrue(text.contains("# TYPE te_request_count counter\n"), text);
            assertTrue(text.contains("# TYPE te_request_duration histogram\n"), text);
            assertTrue(text.contains("# TYPE te_queue_size gauge\n"), text);
            assertEquals(36, buckets(text, "te_request_duration"));
            assertEquals(36, buckets(text, "te_embed_inference_duration"));
            assertEquals(9, buckets(text, "te_request_input_length"));
            assertEquals(14, buckets(text, "te_batch_next_size"));
            assertEquals(22, buckets(text, "te_batch_next_tokens"));
            List<Double> le = text.lines().filter(l -> l.startsWith("te_request_duration_bucket{le=\"") && !l.contains("+Inf"))
                    .map(l -> Double.parseDouble(l.substring(l.indexOf('"') + 1, l.lastIndexOf('"')))).toList();
            assertEquals(1.5e-5, le.getFirst(), 1e-12);
            for (int i = 1; i < le.size(); i++) assertEquals(1.5, le.get(i) / le.get(i - 1), 1e-9);
            assertEquals(1e-5 * Math.pow(1.5, 35), le.getLast(), 1e-6); // 14.6 s
            // the server's own metrics stay beside them
            assertTrue(m.containsKey("xlmr_requests_total{route=\"/embed\",status=\"200\"}"), text);
        }
    }

    @Test
    void predictCountsPerInput() throws Exception {
        try (LocalInferenceService service = LocalInferenceService.load(TestSupport.testdata("xlmr-seqcls"), "xlmr-seqcls", 0);
             XlmrServer server = XlmrServer.start(service, ServerOptions.defaults().port(0))) {
            var b = server.uri();
            assertEquals(200, postJson(b, "/predict", Map.of("inputs", "a text")).status());                          // single
            assertEquals(200, postJson(b, "/predict", Map.of("inputs", List.of("a text", "its pair"))).status());     // single pair
            assertEquals(200, postJson(b, "/predict", Map.of("inputs", List.of(List.of("x"), List.of("y", "z")))).status()); // batch
            assertEquals(424, postJson(b, "/embed", Map.of("inputs", "an embedding")).status());                      // model_type
            String text = get(b, "/metrics").body();
            Map<String, Double> m = samples(text);
            assertEquals(3.0, m.get("te_request_count{method=\"single\"}"), text);
            assertEquals(1.0, m.get("te_request_count{method=\"batch\"}"), text);
            assertEquals(2.0, m.get("te_request_success{method=\"single\"}"), text);
            assertEquals(1.0, m.get("te_request_success{method=\"batch\"}"), text);
            assertEquals(1.0, m.get("te_request_failure{err=\"model_type\"}"), text);
            assertEquals(4.0, m.get("te_predict_count"), text);
            assertEquals(4.0, m.get("te_predict_inference_duration_count"), text);
            assertEquals(null, m.get("te_embed_count"), text);
        }
    }
}
