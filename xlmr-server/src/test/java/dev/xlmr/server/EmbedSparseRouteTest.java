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
 * TEI's {@code /embed_sparse} on the SPLADE and BGE-M3 references of
 * xlmr-pipelines/src/test/resources/embeddings (sentence-transformers' SpladePooling, FlagEmbedding's lexical
 * weights; README there), and its 424 on a model without sparse vectors.
 */
class EmbedSparseRouteTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Path dir(String name) {
        return Path.of("..", "xlmr-pipelines", "src", "test", "resources", "embeddings", name);
    }

    /** The answer for texts against the reference {"id": weight} objects: same ids ascending, weights within 1e-5. */
    private static void check(String model, String field) throws Exception {
        JsonNode cases = JSON.readTree(dir(model).resolve("expected.json").toFile()).get("cases");
        List<String> texts = List.of(cases.get(7).get("text").asText(), cases.get(3).get("text").asText());
        try (LocalInferenceService service = LocalInferenceService.load(dir(model), model, 0);
             XlmrServer server = XlmrServer.start(service, ServerOptions.defaults().port(0))) {
            Answer a = postJson(server.uri(), "/embed_sparse", Map.of("inputs", texts));
            assertEquals(200, a.status(), a.body());
            assertEquals(2, a.json().size());
            for (int i = 0; i < 2; i++) {
                JsonNode want = cases.get(i == 0 ? 7 : 3).get(field);
                List<Integer> wantIds = new ArrayList<>();
                want.fieldNames().forEachRemaining(k -> wantIds.add(Integer.parseInt(k)));
                List<Integer> gotIds = new ArrayList<>();
                for (JsonNode e : a.json().get(i)) {
                    assertEquals(List.of("index", "value"), List.copyOf(iterable(e)));
                    gotIds.add(e.get("index").asInt());
                    assertEquals(want.get(e.get("index").asText()).asDouble(), e.get("value").asDouble(), 1e-5);
                }
                assertEquals(List.copyOf(new TreeSet<>(wantIds)), gotIds, model + " input " + i);
            }
            Answer one = postJson(server.uri(), "/embed_sparse", Map.of("inputs", texts.get(0)));
            assertEquals(1, one.json().size());
        }
    }

    private static List<String> iterable(JsonNode n) {
        List<String> k = new ArrayList<>();
        n.fieldNames().forEachRemaining(k::add);
        return k;
    }

    @Test
    void spladeVectors() throws Exception {
        check("splade-tiny", "sparse");
    }

    @Test
    void bgeM3LexicalWeights() throws Exception {
        check("bge-m3-tiny", "lexical_weights");
    }

    @Test
    void aModelWithoutSparseVectorsIs424() throws Exception {
        try (LocalInferenceService service = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base", 0);
             XlmrServer server = XlmrServer.start(service, ServerOptions.defaults().port(0))) {
            Answer a = postJson(server.uri(), "/embed_sparse", Map.of("inputs", "Hello"));
            assertEquals(424, a.status(), a.body());
            assertTrue(a.body().contains("no sparse vectors"), a.body());
        }
    }
}
