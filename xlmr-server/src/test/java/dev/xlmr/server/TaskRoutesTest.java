package dev.xlmr.server;

import static dev.xlmr.server.TeiRoutesTest.expectError;
import static dev.xlmr.server.TestSupport.postJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.pipelines.QuestionAnsweringPipeline;
import dev.xlmr.pipelines.TokenClassificationPipeline;
import dev.xlmr.server.TestSupport.Answer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The task routes answer the pipelines' JSON: fill-mask, token classification and zero-shot against
 * transformers' pipeline outputs in the fixtures; aggregated entities and QA against the pipelines
 * (whose own tests hold them to the reference) on a separately loaded model.
 */
class TaskRoutesTest {

    static LocalInferenceService load(String model, boolean head) {
        return LocalInferenceService.load(TestSupport.testdata(model), model,
                LocalInferenceService.Settings.defaults().withHead(head));
    }

    static void close(double expected, double actual, String where) {
        assertTrue(Math.abs(expected - actual) <= 1e-5 * Math.max(1, Math.abs(expected)), where + ": " + actual + " != " + expected);
    }

    @Test
    void fillMaskAnswersTransformersPipeline() throws Exception {
        try (LocalInferenceService s = load("xlmr-mlm", true); XlmrServer server = XlmrServer.start(s, ServerOptions.defaults().port(0))) {
            JsonNode cases = TestSupport.expected("xlmr-mlm").get("fill_mask");
            List<String> inputs = new ArrayList<>();
            cases.forEach(c -> inputs.add(c.get("input").asText()));
            Answer batch = postJson(server.uri(), "/fill-mask", Map.of("inputs", inputs, "parameters", Map.of("top_k", 5)));
            assertEquals(200, batch.status(), batch.body());
            Answer single = postJson(server.uri(), "/fill-mask", Map.of("inputs", inputs.get(0)));
            for (int i = 0; i < cases.size(); i++) {
                JsonNode exp = cases.get(i).get("output");
                List<JsonNode> answers = new ArrayList<>(List.of(batch.json().get(i)));
                if (i == 0) answers.add(single.json());
                for (JsonNode got : answers) {
                    assertEquals(exp.size(), got.size());
                    for (int k = 0; k < exp.size(); k++) {
                        assertEquals(exp.get(k).get("token").asInt(), got.get(k).get("token").asInt());
                        assertEquals(exp.get(k).get("token_str").asText(), got.get(k).get("token_str").asText());
                        assertEquals(exp.get(k).get("sequence").asText(), got.get(k).get("sequence").asText());
                        close(exp.get(k).get("score").asDouble(), got.get(k).get("score").asDouble(), "fill-mask " + i + "#" + k);
                    }
                }
            }
            expectError(postJson(server.uri(), "/fill-mask", Map.of("inputs", "no mask here")), 422, "Validation");
            expectError(postJson(server.uri(), "/fill-mask", Map.of("inputs", "a <mask>", "parameters", Map.of("top_k", 0))),
                    422, "Validation");
            expectError(postJson(server.uri(), "/ner", Map.of("inputs", "a")), 424, "Backend");
        }
        // without --with-head the masked-LM head is dropped for embeddings: the route says how to keep it
        try (LocalInferenceService s = load("xlmr-mlm", false); XlmrServer server = XlmrServer.start(s, ServerOptions.defaults().port(0))) {
            Answer a = postJson(server.uri(), "/fill-mask", Map.of("inputs", "a <mask>"));
            expectError(a, 424, "Backend");
            assertTrue(a.json().get("error").asText().contains("--with-head"), a.body());
        }
    }

    @Test
    void nerAnswersTransformersPipelineAndAggregates() throws Exception {
        try (LocalInferenceService s = load("xlmr-tokcls", true); XlmrServer server = XlmrServer.start(s, ServerOptions.defaults().port(0))) {
            JsonNode cases = TestSupport.expected("xlmr-tokcls").get("token_classification_none");
            List<String> inputs = new ArrayList<>();
            cases.forEach(c -> inputs.add(c.get("input").asText()));
            Answer a = postJson(server.uri(), "/ner", Map.of("inputs", inputs));
            assertEquals(200, a.status(), a.body());
            for (int i = 0; i < cases.size(); i++) {
                JsonNode exp = cases.get(i).get("output");
                JsonNode got = a.json().get(i);
                assertEquals(exp.size(), got.size());
                for (int k = 0; k < exp.size(); k++) {
                    assertEquals(exp.get(k).get("entity").asText(), got.get(k).get("entity").asText());
                    assertEquals(exp.get(k).get("index").asInt(), got.get(k).get("index").asInt());
                    assertEquals(exp.get(k).get("word").asText(), got.get(k).get("word").asText());
                    close(exp.get(k).get("score").asDouble(), got.get(k).get("score").asDouble(), "ner " + i + "#" + k);
                }
            }
            try (TokenClassificationPipeline p = TokenClassificationPipeline.load(TestSupport.testdata("xlmr-tokcls").toString())) {
                for (String agg : List.of("simple", "first", "average", "max")) {
                    Answer g = postJson(server.uri(), "/ner", Map.of("inputs", inputs.get(1),
                            "parameters", Map.of("aggregation_strategy", agg)));
                    assertEquals(200, g.status(), g.body());
                    var expected = p.recognize(inputs.get(1), TokenClassificationPipeline.Options.defaults()
                            .aggregation(TokenClassificationPipeline.Aggregation.parse(agg)));
                    assertEquals(expected.size(), g.json().size(), agg);
                    for (int k = 0; k < expected.size(); k++) {
                        Map<String, Object> e = expected.get(k).toMap(inputs.get(1));
                        JsonNode got = g.json().get(k);
                        assertEquals(e.get("entity_group"), got.get("entity_group").asText(), agg);
                        assertEquals(e.get("word"), got.get("word").asText(), agg);
                        assertEquals(((Number) e.get("start")).intValue(), got.get("start").asInt(), agg);
                        close(((Number) e.get("score")).doubleValue(), got.get("score").asDouble(), agg);
                    }
                }
            }
            expectError(postJson(server.uri(), "/ner", Map.of("inputs", "a", "parameters", Map.of("aggregation_strategy", "most"))),
                    422, "Validation");
        }
    }

    @Test
    void qaAndZeroShotAnswerThePipelines() throws Exception {
        try (LocalInferenceService s = load("xlmr-qa", true); XlmrServer server = XlmrServer.start(s, ServerOptions.defaults().port(0));
             QuestionAnsweringPipeline p = QuestionAnsweringPipeline.load(TestSupport.testdata("xlmr-qa").toString())) {
            String q = "Where is the file?", c = "The file is in the home directory of the user.";
            Answer one = postJson(server.uri(), "/qa", Map.of("inputs", Map.of("question", q, "context", c)));
            assertEquals(200, one.status(), one.body());
            Map<String, Object> exp = p.answer(q, c).getFirst().toMap(c);
            assertEquals(exp.get("answer"), one.json().get("answer").asText());
            assertEquals(((Number) exp.get("start")).intValue(), one.json().get("start").asInt());
            close(((Number) exp.get("score")).doubleValue(), one.json().get("score").asDouble(), "qa");
            Answer top = postJson(server.uri(), "/qa", Map.of("inputs", List.of(Map.of("question", q, "context", c)),
                    "parameters", Map.of("top_k", 3)));
            var three = p.answer(q, c, QuestionAnsweringPipeline.Options.defaults().topK(3));
            assertEquals(three.size(), top.json().get(0).size());
            for (int k = 0; k < three.size(); k++) assertEquals(three.get(k).answer(), top.json().get(0).get(k).get("answer").asText());
            expectError(postJson(server.uri(), "/qa", Map.of("inputs", Map.of("question", q))), 422, "Validation");
        }
        try (LocalInferenceService s = load("xlmr-nli", false); XlmrServer server = XlmrServer.start(s, ServerOptions.defaults().port(0))) {
            for (JsonNode c : TestSupport.expected("xlmr-nli").get("zero_shot")) {
                Answer a = postJson(server.uri(), "/zero-shot", Map.of("inputs", c.get("input").asText(), "parameters",
                        Map.of("candidate_labels", c.get("candidate_labels"), "hypothesis_template", c.get("hypothesis_template").asText(),
                                "multi_label", c.get("multi_label").asBoolean())));
                assertEquals(200, a.status(), a.body());
                JsonNode exp = c.get("output");
                assertEquals(exp.get("sequence").asText(), a.json().get("sequence").asText());
                for (int k = 0; k < exp.get("labels").size(); k++) {
                    assertEquals(exp.get("labels").get(k).asText(), a.json().get("labels").get(k).asText());
                    close(exp.get("scores").get(k).asDouble(), a.json().get("scores").get(k).asDouble(), "zero-shot");
                }
            }
            expectError(postJson(server.uri(), "/zero-shot", Map.of("inputs", "a")), 422, "Validation");
        }
    }
}
