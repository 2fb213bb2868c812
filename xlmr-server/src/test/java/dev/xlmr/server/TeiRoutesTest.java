package dev.xlmr.server;

import static dev.xlmr.server.TestSupport.assertClose;
import static dev.xlmr.server.TestSupport.floats;
import static dev.xlmr.server.TestSupport.get;
import static dev.xlmr.server.TestSupport.post;
import static dev.xlmr.server.TestSupport.postJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import dev.xlmr.server.TestSupport.Answer;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The text-embeddings-inference routes of a real server on a loopback port, with the embedding fixture. */
class TeiRoutesTest {
    static LocalInferenceService service;
    static XlmrServer server;
    static URI base;

    @BeforeAll
    static void start() throws Exception {
        service = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base", 0);
        server = XlmrServer.start(service, ServerOptions.defaults().port(0).maxClientBatchSize(8).payloadLimit(20_000));
        base = server.uri();
    }

    @AfterAll
    static void stop() {
        server.close();
        service.close();
    }

    @Test
    void embedTakesAStringOrAListAndNormalizesByDefault() throws Exception {
        List<String> texts = List.of("Hello world!", "Bonjour le monde.");
        float[][] direct = service.embed(texts, Pooling.AUTO, true, false);
        Answer a = postJson(base, "/embed", Map.of("inputs", texts));
        assertEquals(200, a.status(), a.body());
        assertEquals("application/json", a.header("content-type"));
        assertEquals(2, a.json().size());
        for (int i = 0; i < 2; i++) assertClose(direct[i], floats(a.json().get(i)), 1e-6, "embed " + i);
        Answer one = postJson(base, "/embed", Map.of("inputs", "Hello world!"));
        assertEquals(1, one.json().size());
        assertClose(direct[0], floats(one.json().get(0)), 1e-6, "single");
        Answer raw = postJson(base, "/embed", Map.of("inputs", "Hello world!", "normalize", false));
        assertClose(service.embed(List.of("Hello world!"), Pooling.AUTO, false, false)[0], floats(raw.json().get(0)), 1e-6, "raw");
    }

    @Test
    void embedAllGivesEveryTokenVector() throws Exception {
        Answer a = postJson(base, "/embed_all", Map.of("inputs", List.of("Hello world!", "a")));
        assertEquals(200, a.status(), a.body());
        float[][][] direct = service.embedAll(List.of("Hello world!", "a"), false);
        for (int i = 0; i < 2; i++) {
            assertEquals(direct[i].length, a.json().get(i).size());
            assertClose(direct[i][1], floats(a.json().get(i).get(1)), 1e-6, "token");
        }
    }

    @Test
    void openAiEmbeddingsInFloatsAndBase64() throws Exception {
        Answer a = postJson(base, "/v1/embeddings", Map.of("input", List.of("Hello world!", "Bonjour"), "model", "x"));
        assertEquals(200, a.status(), a.body());
        JsonNode j = a.json();
        assertEquals("list", j.get("object").asText());
        assertEquals("xlmr-base", j.get("model").asText());
        assertEquals(1, j.get("data").get(1).get("index").asInt());
        assertEquals("embedding", j.get("data").get(0).get("object").asText());
        int tokens = service.prepare(List.of("Hello world!", "Bonjour"), null, false).stream().mapToInt(InferenceService.Input::tokens).sum();
        assertEquals(tokens, j.get("usage").get("prompt_tokens").asInt());
        assertEquals(tokens, j.get("usage").get("total_tokens").asInt());
        float[] v = floats(j.get("data").get(0).get("embedding"));
        Answer b = postJson(base, "/v1/embeddings", Map.of("input", "Hello world!", "encoding_format", "base64"));
        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(b.json().get("data").get(0).get("embedding").asText()))
                .order(ByteOrder.LITTLE_ENDIAN);
        float[] decoded = new float[bytes.remaining() / 4];
        bytes.asFloatBuffer().get(decoded);
        // v came from a batch of two: one packed forward, whose sums round a little differently from this one's
        assertClose(v, decoded, 1e-6, "base64");
        Answer bad = postJson(base, "/v1/embeddings", Map.of("input", List.of()));
        assertEquals(400, bad.status());
        // OpenAI's error shape on the OpenAI route
        assertEquals("empty", bad.json().get("error").get("code").asText());
        assertEquals("invalid_request_error", bad.json().get("error").get("type").asText());
        assertEquals("input", bad.json().get("error").get("param").asText());
        assertTrue(bad.json().get("error").has("message"));
    }

    @Test
    void tokenizeAndDecodeRoundTrip() throws Exception {
        Answer t = postJson(base, "/tokenize", Map.of("inputs", "Hello world!"));
        assertEquals(200, t.status(), t.body());
        JsonNode tokens = t.json().get(0);
        assertTrue(tokens.get(0).get("special").asBoolean());
        assertTrue(tokens.get(0).get("start").isNull());
        JsonNode first = tokens.get(1);
        assertFalse(first.get("special").asBoolean());
        assertEquals("Hello world!".substring(first.get("start").asInt(), first.get("stop").asInt()), first.get("text").asText());
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = tokens.get(i).get("id").asInt();
        Answer d = postJson(base, "/decode", Map.of("ids", ids));
        assertEquals(200, d.status(), d.body());
        assertEquals("Hello world!", d.json().get(0).asText());
        Answer many = postJson(base, "/decode", Map.of("ids", List.of(ids, ids), "skip_special_tokens", false));
        assertEquals(2, many.json().size());
        assertTrue(many.json().get(1).asText().startsWith("<s>"));
        Answer noSpecial = postJson(base, "/tokenize", Map.of("inputs", List.of("a", "b"), "add_special_tokens", false));
        assertEquals(2, noSpecial.json().size());
        assertFalse(noSpecial.json().get(0).get(0).get("special").asBoolean());
        Answer badId = postJson(base, "/decode", Map.of("ids", List.of(999_999)));
        assertEquals(422, badId.status());
        assertEquals("Tokenizer", badId.json().get("error_type").asText());
    }

    @Test
    void infoHealthAndMetrics() throws Exception {
        JsonNode info = get(base, "/info").json();
        assertEquals("xlmr-base", info.get("model_id").asText());
        assertEquals("mean", info.get("model_type").get("embedding").get("pooling").asText());
        assertEquals(128, info.get("max_input_length").asInt());
        assertEquals(8, info.get("max_client_batch_size").asInt());
        assertEquals("float32", info.get("model_dtype").asText());
        assertEquals(200, get(base, "/health").status());
        postJson(base, "/embed", Map.of("inputs", "metrics"));
        Answer m = get(base, "/metrics");
        assertEquals(200, m.status());
        assertTrue(m.header("content-type").startsWith("text/plain"), m.header("content-type"));
        for (String name : List.of("xlmr_requests_total{route=\"/embed\",status=\"200\"}", "xlmr_request_duration_seconds_bucket",
                "xlmr_batch_inputs_bucket", "xlmr_batch_tokens_sum", "xlmr_queue_depth", "xlmr_batch_duration_seconds_count")) {
            assertTrue(m.body().contains(name), name + " missing in\n" + m.body());
        }
    }

    @Test
    void badRequestsGetTeiErrorBodies() throws Exception {
        expectError(post(base, "/embed", "application/json", "{\"inputs\": [\"a\""), 400, "Validation");
        expectError(postJson(base, "/embed", Map.of("inputs", List.of())), 400, "Empty");
        expectError(postJson(base, "/embed", Map.of("texts", "a")), 422, "Validation");
        expectError(postJson(base, "/embed", Map.of("inputs", List.of(true, 2))), 422, "Validation");
        expectError(postJson(base, "/embed", Map.of("inputs", "a", "normalize", "yes")), 422, "Validation");
        Answer tooLong = postJson(base, "/embed", Map.of("inputs", "word ".repeat(300), "truncate", false));
        expectError(tooLong, 422, "Validation");
        assertTrue(tooLong.json().get("error").asText().contains("128"), tooLong.body());
        assertEquals(200, postJson(base, "/embed", Map.of("inputs", "word ".repeat(300), "truncate", true)).status());
        expectError(postJson(base, "/embed", Map.of("inputs", List.of("1", "2", "3", "4", "5", "6", "7", "8", "9"))), 422, "Validation");
        expectError(postJson(base, "/embed", Map.of("inputs", "x".repeat(30_000))), 413, "Validation");
        expectError(post(base, "/embed", "text/plain", "{\"inputs\": \"a\"}"), 415, "Validation");
        expectError(post(base, "/embed", null, "{\"inputs\": \"a\"}"), 415, "Validation");
        expectError(get(base, "/embed"), 405, "Validation");
        expectError(get(base, "/nope"), 404, "NotFound");
        expectError(postJson(base, "/predict", Map.of("inputs", "a")), 424, "Backend");
        expectError(postJson(base, "/rerank", Map.of("query", "a", "texts", List.of("b"))), 424, "Backend");
        // NOVA routes need --nova-root
        expectError(TestSupport.postForm(base, "/process", Map.of("jobID", "x")), 404, "NotFound");
    }

    static void expectError(Answer a, int status, String type) {
        assertEquals(status, a.status(), a.body());
        JsonNode j = a.json();
        assertEquals(type, j.get("error_type").asText(), a.body());
        assertFalse(j.get("error").asText().isBlank());
    }
}
