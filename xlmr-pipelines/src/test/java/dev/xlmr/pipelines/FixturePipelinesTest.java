package dev.xlmr.pipelines;

import static dev.xlmr.pipelines.Fixtures.close;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The pipeline outputs of transformers 4.27 in testdata/*\/expected.json, matched within 1e-5. */
class FixturePipelinesTest {

    @Test
    void fillMaskMatchesTransformers() {
        try (FillMaskPipeline fill = FillMaskPipeline.load(Fixtures.dir("xlmr-mlm").toString())) {
            JsonNode cases = Fixtures.expected("xlmr-mlm").get("fill_mask");
            List<String> texts = new ArrayList<>();
            for (JsonNode c : cases) {
                texts.add(c.get("input").asText());
            }
            // batched and one by one give the same
            List<List<List<FillMaskPipeline.Prediction>>> batched = fill.fillAll(texts,
                    FillMaskPipeline.Options.defaults().topK(cases.get(0).get("top_k").asInt()));
            for (int i = 0; i < cases.size(); i++) {
                JsonNode c = cases.get(i);
                List<List<FillMaskPipeline.Prediction>> one = fill.fill(c.get("input").asText(),
                        FillMaskPipeline.Options.defaults().topK(c.get("top_k").asInt()));
                assertEquals(1, one.size());
                for (List<FillMaskPipeline.Prediction> got : List.of(one.get(0), batched.get(i).get(0))) {
                    JsonNode exp = c.get("output");
                    assertEquals(exp.size(), got.size());
                    for (int k = 0; k < exp.size(); k++) {
                        JsonNode e = exp.get(k);
                        FillMaskPipeline.Prediction p = got.get(k);
                        String where = "case " + i + " #" + k;
                        assertEquals(e.get("token").asInt(), p.token(), where);
                        assertEquals(e.get("token_str").asText(), p.tokenStr(), where);
                        assertEquals(e.get("sequence").asText(), p.sequence(), where);
                        close(e.get("score").asDouble(), p.score(), where);
                    }
                }
            }
        }
    }

    @Test
    void fillMaskTargetsMultipleMasksAndErrors() {
        try (FillMaskPipeline fill = FillMaskPipeline.load(Fixtures.dir("xlmr-mlm").toString())) {
            fill.warnings(s -> { });
            String text = "Paris is the <mask> of France.";
            List<FillMaskPipeline.Prediction> all = fill.fill(text, FillMaskPipeline.Options.defaults().topK(5)).get(0);
            // targets restrict to those tokens; their scores are those of the full softmax
            String t0 = fill.tokenizer().idToToken(all.get(0).token());
            String t3 = fill.tokenizer().idToToken(all.get(3).token());
            List<FillMaskPipeline.Prediction> targeted = fill.fill(text,
                    FillMaskPipeline.Options.defaults().topK(10).targets(List.of(t3, t0))).get(0);
            assertEquals(2, targeted.size());
            assertEquals(all.get(0), targeted.get(0));
            assertEquals(all.get(3), targeted.get(1));

            List<List<FillMaskPipeline.Prediction>> two = fill.fill("Paris <mask> the <mask> of France.",
                    FillMaskPipeline.Options.defaults().topK(2));
            assertEquals(2, two.size());
            for (List<FillMaskPipeline.Prediction> perMask : two) {
                assertEquals(2, perMask.size());
                // several masks: special tokens and the other mask stay in the sequence, as in transformers
                assertTrue(perMask.get(0).sequence().startsWith("<s>"), perMask.get(0).sequence());
                assertTrue(perMask.get(0).sequence().contains("<mask>"), perMask.get(0).sequence());
                assertTrue(perMask.get(0).score() >= perMask.get(1).score());
            }
            assertThrows(IllegalArgumentException.class, () -> fill.fill("no mask here"));
            assertThrows(IllegalArgumentException.class, () -> FillMaskPipeline.Options.defaults().topK(0));
        }
    }

    @Test
    void textClassificationMatchesTransformers() {
        try (TextClassificationPipeline clf = TextClassificationPipeline.load(Fixtures.dir("xlmr-seqcls").toString())) {
            assertEquals(TextClassificationPipeline.Function.SOFTMAX, clf.defaultFunction());
            JsonNode cases = Fixtures.expected("xlmr-seqcls").get("text_classification");
            List<String> texts = new ArrayList<>();
            for (JsonNode c : cases) {
                texts.add(c.get("input").asText());
            }
            List<List<TextClassificationPipeline.Label>> batched = clf.classifyAll(texts, null,
                    TextClassificationPipeline.Options.all());
            for (int i = 0; i < cases.size(); i++) {
                JsonNode exp = cases.get(i).get("output");
                List<TextClassificationPipeline.Label> one = clf.classify(texts.get(i),
                        TextClassificationPipeline.Options.defaults().topK(3));
                for (List<TextClassificationPipeline.Label> got : List.of(one, batched.get(i))) {
                    assertEquals(exp.size(), got.size());
                    for (int k = 0; k < exp.size(); k++) {
                        assertEquals(exp.get(k).get("label").asText(), got.get(k).label(), "case " + i);
                        close(exp.get(k).get("score").asDouble(), got.get(k).score(), "case " + i);
                    }
                }
                TextClassificationPipeline.Label best = clf.classify(texts.get(i));
                assertEquals(exp.get(0).get("label").asText(), best.label());
            }
        }
    }

    @Test
    void zeroShotMatchesTransformers() {
        try (ZeroShotClassificationPipeline zs = ZeroShotClassificationPipeline.load(Fixtures.dir("xlmr-nli").toString())) {
            assertEquals(2, zs.entailmentIndex());
            for (JsonNode c : Fixtures.expected("xlmr-nli").get("zero_shot")) {
                List<String> labels = new ArrayList<>();
                c.get("candidate_labels").forEach(l -> labels.add(l.asText()));
                ZeroShotClassificationPipeline.Result r = zs.classify(c.get("input").asText(), labels,
                        new ZeroShotClassificationPipeline.Options(c.get("hypothesis_template").asText(),
                                c.get("multi_label").asBoolean()));
                JsonNode exp = c.get("output");
                String where = c.get("input").asText() + " multi_label=" + c.get("multi_label");
                assertEquals(exp.get("sequence").asText(), r.sequence());
                for (int k = 0; k < exp.get("labels").size(); k++) {
                    assertEquals(exp.get("labels").get(k).asText(), r.labels().get(k), where);
                    close(exp.get("scores").get(k).asDouble(), r.scores().get(k), where);
                }
            }
            assertThrows(IllegalArgumentException.class, () -> zs.classify("x", List.of(" ", "")));
            assertThrows(IllegalArgumentException.class,
                    () -> ZeroShotClassificationPipeline.Options.defaults().hypothesisTemplate("no slot"));
        }
    }

    @Test
    void sentenceEmbeddingsMatchSentenceTransformers() {
        try (EmbeddingPipeline embed = EmbeddingPipeline.load(Fixtures.dir("xlmr-base").toString())) {
            assertTrue(embed.isSentenceTransformers());
            for (JsonNode c : Fixtures.expected("xlmr-base").get("cases")) {
                if (c.has("text_pairs")) {
                    continue;
                }
                List<String> texts = new ArrayList<>();
                c.get("texts").forEach(t -> texts.add(t.asText()));
                List<float[]> got = embed.embedAll(texts, EmbeddingPipeline.Options.defaults());
                JsonNode exp = c.get("sentence_embedding");
                for (int i = 0; i < texts.size(); i++) {
                    assertEquals(exp.get(i).size(), got.get(i).length);
                    for (int j = 0; j < got.get(i).length; j++) {
                        close(exp.get(i).get(j).asDouble(), got.get(i)[j], texts.get(i) + " [" + j + "]");
                    }
                }
            }
        }
    }
}
