package dev.xlmr.server;

import static dev.xlmr.server.TeiRoutesTest.expectError;
import static dev.xlmr.server.TestSupport.get;
import static dev.xlmr.server.TestSupport.postJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.xlmr.server.InferenceService.Prediction;
import dev.xlmr.server.TestSupport.Answer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** /predict with the 3-label classifier fixture, /rerank with a one-label cross-encoder cut from it. */
class ClassifierRoutesTest {
    @TempDir
    static Path tmp;
    static LocalInferenceService classifier;
    static LocalInferenceService reranker;
    static XlmrServer classifierServer;
    static XlmrServer rerankerServer;

    @BeforeAll
    static void start() throws Exception {
        classifier = LocalInferenceService.load(TestSupport.testdata("xlmr-seqcls"), "xlmr-seqcls", 0);
        reranker = LocalInferenceService.load(oneLabelCopy(TestSupport.testdata("xlmr-seqcls"), tmp.resolve("reranker")), "reranker", 0);
        classifierServer = XlmrServer.start(classifier, ServerOptions.defaults().port(0));
        rerankerServer = XlmrServer.start(reranker, ServerOptions.defaults().port(0));
    }

    @AfterAll
    static void stop() {
        classifierServer.close();
        rerankerServer.close();
        classifier.close();
        reranker.close();
    }

    /** The classifier with only its first label: its logit is the classifier's first logit. */
    static Path oneLabelCopy(Path src, Path dst) throws IOException {
        Files.createDirectories(dst);
        for (String f : List.of("tokenizer.json", "sentencepiece.bpe.model", "special_tokens_map.json", "tokenizer_config.json")) {
            Files.copy(src.resolve(f), dst.resolve(f));
        }
        ObjectNode config = (ObjectNode) TestSupport.JSON.readTree(src.resolve("config.json").toFile());
        config.putObject("id2label").put("0", "LABEL_0");
        config.putObject("label2id").put("LABEL_0", 0);
        Files.writeString(dst.resolve("config.json"), config.toString());
        // safetensors: u64 header length, JSON header, data; keep row 0 of the output projection
        byte[] file = Files.readAllBytes(src.resolve("model.safetensors"));
        long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode header = TestSupport.JSON.readTree(new String(file, 8, (int) n, StandardCharsets.UTF_8));
        ObjectNode out = TestSupport.JSON.createObjectNode();
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        for (Map.Entry<String, JsonNode> e : header.properties()) {
            if (e.getKey().equals("__metadata__")) {
                out.set(e.getKey(), e.getValue());
                continue;
            }
            int begin = e.getValue().get("data_offsets").get(0).asInt(), end = e.getValue().get("data_offsets").get(1).asInt();
            List<Integer> shape = new ArrayList<>();
            e.getValue().get("shape").forEach(s -> shape.add(s.asInt()));
            if (e.getKey().startsWith("classifier.out_proj.")) {
                int rowBytes = (end - begin) / shape.getFirst();
                end = begin + rowBytes;
                shape.set(0, 1);
            }
            ObjectNode t = out.putObject(e.getKey());
            t.put("dtype", e.getValue().get("dtype").asText());
            shape.forEach(t.putArray("shape")::add);
            t.putArray("data_offsets").add(data.size()).add(data.size() + end - begin);
            data.write(file, (int) (8 + n + begin), end - begin);
        }
        byte[] h = out.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length);
        try (var os = Files.newOutputStream(dst.resolve("model.safetensors"))) {
            os.write(len.array());
            os.write(h);
            data.writeTo(os);
        }
        return dst;
    }

    @Test
    void predictTakesATextAPairOrABatch() throws Exception {
        var base = classifierServer.uri();
        Answer one = postJson(base, "/predict", Map.of("inputs", "Hello world!"));
        assertEquals(200, one.status(), one.body());
        List<Prediction> direct = classifier.classify(List.of("Hello world!"), null, false, false).getFirst();
        assertEquals(3, one.json().size());
        for (int k = 0; k < 3; k++) {
            assertEquals(direct.get(k).label(), one.json().get(k).get("label").asText());
            assertEquals(direct.get(k).score(), one.json().get(k).get("score").floatValue(), 1e-6);
        }
        assertTrue(one.json().get(0).get("score").asDouble() >= one.json().get(1).get("score").asDouble());
        Answer pair = postJson(base, "/predict", Map.of("inputs", List.of("a question", "a context")));
        List<Prediction> directPair = classifier.classify(List.of("a question"), java.util.Arrays.asList("a context"), false, false).getFirst();
        assertEquals(directPair.getFirst().score(), pair.json().get(0).get("score").floatValue(), 1e-6);
        Answer batch = postJson(base, "/predict", Map.of("inputs", List.of(List.of("Hello world!"), List.of("a question", "a context")),
                "raw_scores", true));
        assertEquals(2, batch.json().size());
        assertEquals(classifier.classify(List.of("Hello world!"), null, false, true).getFirst().getFirst().score(),
                batch.json().get(0).get(0).get("score").floatValue(), 1e-6);
        assertEquals(directPair.getFirst().label(), pair.json().get(0).get("label").asText());
        expectError(postJson(base, "/predict", Map.of("inputs", List.of("a", "b", "c"))), 422, "Validation");
        expectError(postJson(base, "/predict", Map.of("inputs", 5)), 422, "Validation");
        expectError(postJson(base, "/embed", Map.of("inputs", "a")), 424, "Backend");
        expectError(postJson(base, "/rerank", Map.of("query", "a", "texts", List.of("b"))), 424, "Backend");
        JsonNode info = get(base, "/info").json();
        assertEquals("positive", info.get("model_type").get("classifier").get("id2label").get("2").asText());
        assertEquals(0, info.get("model_type").get("classifier").get("label2id").get("negative").asInt());
    }

    @Test
    void rerankSortsBySigmoidOfTheCrossEncoder() throws Exception {
        var base = rerankerServer.uri();
        List<String> texts = List.of("Paris is the capital of France.", "Bananas are yellow.", "The capital is Paris.");
        Answer a = postJson(base, "/rerank", Map.of("query", "What is the capital of France?", "texts", texts, "return_text", true));
        assertEquals(200, a.status(), a.body());
        JsonNode ranks = a.json();
        assertEquals(3, ranks.size());
        Map<Integer, Double> byIndex = new LinkedHashMap<>();
        for (int i = 0; i < 3; i++) {
            JsonNode r = ranks.get(i);
            byIndex.put(r.get("index").asInt(), r.get("score").asDouble());
            assertEquals(texts.get(r.get("index").asInt()), r.get("text").asText());
            if (i > 0) assertTrue(ranks.get(i - 1).get("score").asDouble() >= r.get("score").asDouble());
            float logit = classifier.classify(List.of("What is the capital of France?"),
                    List.of(texts.get(r.get("index").asInt())), false, true).getFirst().stream()
                    .filter(p -> p.label().equals("negative")).findFirst().orElseThrow().score();
            assertEquals(1 / (1 + Math.exp(-logit)), r.get("score").asDouble(), 1e-5);
        }
        assertEquals(3, byIndex.size());
        Answer noText = postJson(base, "/rerank", Map.of("query", "q", "texts", List.of("x", "y"), "raw_scores", true));
        assertFalse(noText.json().get(0).has("text"));
        assertEquals(reranker.rerank("q", List.of("x"), false, true)[0], byIndex(noText.json(), 0), 1e-6);
        assertEquals("reranker", get(base, "/info").json().get("model_type").fieldNames().next());
        expectError(postJson(base, "/rerank", Map.of("query", "q", "texts", List.of())), 400, "Empty");
        expectError(postJson(base, "/rerank", Map.of("texts", List.of("x"))), 422, "Validation");
    }

    private static double byIndex(JsonNode ranks, int index) {
        for (JsonNode r : ranks) if (r.get("index").asInt() == index) return r.get("score").asDouble();
        throw new AssertionError("no index " + index);
    }
}
