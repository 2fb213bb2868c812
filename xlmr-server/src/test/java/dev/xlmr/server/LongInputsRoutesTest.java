package dev.xlmr.server;

import static dev.xlmr.server.TestSupport.postJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xlmr.server.TestSupport.Answer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * {@code /embed_colbert}, {@code "long_inputs": "windows"} on {@code /embed}, {@code /embed_sparse} and
 * {@code /embed_colbert}, and {@code "late_chunking": true} on {@code /embed}, against the BGE-M3 references of
 * xlmr-pipelines/src/test/resources (FlagEmbedding's algorithms; the long-document references of
 * bench/reference/xlmr_reference.py, windows of 24 tokens sharing 6).
 */
class LongInputsRoutesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path RESOURCES = Path.of("..", "xlmr-pipelines", "src", "test", "resources");

    private static void close(JsonNode want, JsonNode got, String where) {
        assertEquals(want.size(), got.size(), where + " size");
        for (int i = 0; i < want.size(); i++) {
            if (want.get(i).isArray()) {
                close(want.get(i), got.get(i), where + "[" + i + "]");
            } else {
                assertEquals(want.get(i).asDouble(), got.get(i).asDouble(), 1e-5, where + "[" + i + "]");
            }
        }
    }

    @Test
    void colbertRouteMatchesFlagEmbedding() throws Exception {
        JsonNode cases = JSON.readTree(RESOURCES.resolve("embeddings/bge-m3-tiny/expected.json").toFile()).get("cases");
        try (LocalInferenceService service = LocalInferenceService.load(RESOURCES.resolve("embeddings/bge-m3-tiny"), "m3", 0);
             XlmrServer server = XlmrServer.start(service, ServerOptions.defaults().port(0))) {
            List<String> texts = List.of(cases.get(7).get("text").asText(), cases.get(8).get("text").asText());
            Answer a = postJson(server.uri(), "/embed_colbert", Map.of("inputs", texts));
            assertEquals(200, a.status(), a.body());
            close(cases.get(7).get("colbert_vecs"), a.json().get(0), "case 7");
            close(cases.get(8).get("colbert_vecs"), a.json().get(1), "case 8");
        }
        try (LocalInferenceService service = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base", 0);
             XlmrServer server = XlmrServer.start(service, ServerOptions.defaults().port(0))) {
            Answer a = postJson(server.uri(), "/embed_colbert", Map.of("inputs", "Hello"));
            assertEquals(424, a.status(), a.body());
            assertTrue(a.body().contains("no colbert output"), a.body());
        }
    }

    @Test
    void windowsAndLateChunkingMatchTheReference() throws Exception {
        JsonNode exp = JSON.readTree(RESOURCES.resolve("long-documents/expected.json").toFile());
        JsonNode setting = null;
        for (JsonNode s : exp.get("settings")) {
            if (s.get("model").asText().equals("bge-m3-tiny") && s.get("max_length").asInt() == 24) {
                setting = s;
            }
        }
        List<String> texts = new ArrayList<>();
        exp.get("texts").forEach(t -> texts.add(t.asText()));
        try (LocalInferenceService service = LocalInferenceService.load(RESOURCES.resolve("embeddings/bge-m3-tiny"), "m3", 24);
             XlmrServer server = XlmrServer.start(service, ServerOptions.defaults().port(0))) {
            Map<String, Object> req = Map.of("inputs", texts, "long_inputs", "windows", "overlap", 6);
            Answer dense = postJson(server.uri(), "/embed", req);
            assertEquals(200, dense.status(), dense.body());
            Answer colbert = postJson(server.uri(), "/embed_colbert", req);
            assertEquals(200, colbert.status(), colbert.body());
            Answer sparse = postJson(server.uri(), "/embed_sparse", req);
            assertEquals(200, sparse.status(), sparse.body());
            for (int k = 0; k < texts.size(); k++) {
                JsonNode c = setting.get("cases").get(k);
                close(c.get("dense"), dense.json().get(k), "dense " + k);
                close(c.get("colbert_vecs"), colbert.json().get(k), "colbert " + k);
                TreeSet<Integer> want = new TreeSet<>();
                c.get("lexical_weights").fieldNames().forEachRemaining(id -> want.add(Integer.parseInt(id)));
                List<Integer> got = new ArrayList<>();
                for (JsonNode e : sparse.json().get(k)) {
                    got.add(e.get("index").asInt());
                    assertEquals(c.get("lexical_weights").get(e.get("index").asText()).asDouble(), e.get("value").asDouble(), 1e-5);
                }
                assertEquals(List.copyOf(want), got, "sparse ids " + k);
            }
            // without windows a long input is TEI's 422
            Answer plain = postJson(server.uri(), "/embed", Map.of("inputs", texts.get(4), "truncate", false));
            assertEquals(422, plain.status(), plain.body());
            Answer bad = postJson(server.uri(), "/embed", Map.of("inputs", "x", "long_inputs", "slide"));
            assertEquals(422, bad.status(), bad.body());
            assertTrue(bad.body().contains("`long_inputs` must be"), bad.body());
            int docs = 0;
            for (JsonNode c : exp.get("late_chunking")) {
                if (!c.get("model").asText().equals("bge-m3-tiny") || c.get("max_length").asInt() != 24) {
                    continue;
                }
                Answer a = postJson(server.uri(), "/embed", Map.of("inputs", c.get("chunks"), "late_chunking", true,
                        "overlap", c.get("overlap").asInt()));
                assertEquals(200, a.status(), a.body());
                close(c.get("embeddings"), a.json(), "late chunking " + docs++);
            }
            assertEquals(3, docs);
            Answer empty = postJson(server.uri(), "/embed", Map.of("inputs", List.of("a", " "), "late_chunking", true));
            assertEquals(422, empty.status(), empty.body());
            assertTrue(empty.body().contains("chunk 1 has no tokens"), empty.body());
        }
    }
}
