package dev.xlmr.server;

import static dev.xlmr.server.TestSupport.assertClose;
import static dev.xlmr.server.TestSupport.floats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.server.InferenceService.ModelKind;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import dev.xlmr.server.InferenceService.Prediction;
import dev.xlmr.server.InferenceService.Token;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LocalInferenceServiceTest {
    static LocalInferenceService base;
    static LocalInferenceService seqcls;
    static JsonNode baseCase;
    static List<String> texts;

    @BeforeAll
    static void load() throws Exception {
        base = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base", 0);
        seqcls = LocalInferenceService.load(TestSupport.testdata("xlmr-seqcls"), "xlmr-seqcls", 0);
        baseCase = TestSupport.expected("xlmr-base").get("cases").get(0);
        texts = new ArrayList<>();
        baseCase.get("texts").forEach(t -> texts.add(t.asText()));
    }

    @AfterAll
    static void close() {
        base.close();
        seqcls.close();
    }

    @Test
    void sentenceTransformersFolderPoolsAndNormalizesLikeTheReference() {
        assertEquals("mean", base.info().pooling());
        assertEquals(ModelKind.EMBEDDING, base.info().kind());
        assertEquals(128, base.info().maxInputLength()); // sentence_bert_config max_seq_length
        float[][] v = base.embed(texts, Pooling.AUTO, true, false);
        for (int i = 0; i < texts.size(); i++) {
            assertClose(floats(baseCase.get("sentence_embedding").get(i)), v[i], 2e-5, "sentence_embedding " + i);
        }
    }

    @Test
    void warmUpRunsTheLargestBatchAndLeavesResultsAsTheReferenceHasThem() {
        int longest = base.info().maxInputLength(); // 128
        assertEquals(1000 / longest * longest, base.warmUp(1000), "as many inputs of the longest length as fit");
        assertEquals(longest, base.warmUp(10), "at least one input");
        float[][] v = base.embed(texts, Pooling.AUTO, true, false);
        for (int i = 0; i < texts.size(); i++) {
            assertClose(floats(baseCase.get("sentence_embedding").get(i)), v[i], 2e-5, "after the warm-up " + i);
        }
        int pairLongest = seqcls.info().maxInputLength();
        assertEquals(3 * pairLongest, seqcls.warmUp(3 * pairLongest + 1), "a classifier warms up too");
    }

    @Test
    void poolerOutputAndClsMatchTheReferenceWhateverTheBatch() {
        float[][] pooled = base.embed(texts, Pooling.POOLER, false, false);
        float[][] cls = base.embed(texts, Pooling.CLS, false, false);
        for (int i = 0; i < texts.size(); i++) {
            assertClose(floats(baseCase.get("pooler_output").get(i)), pooled[i], 2e-5, "pooler_output " + i);
            assertClose(floats(baseCase.get("last_hidden_state").get(i).get(0)), cls[i], 2e-5, "cls " + i);
            // alone, the same numbers within float rounding: a batch runs as one packed forward whatever its lengths
            assertClose(pooled[i], base.embed(List.of(texts.get(i)), Pooling.POOLER, false, false)[0], 1e-6, "alone " + i);
        }
    }

    @Test
    void paddedBatchMeanAveragesOverPaddingToo() {
        // expected.json's last_hidden_state is the padded batch: its plain mean over positions is the quirk
        float[][] v = base.paddedBatchMean(base.prepare(texts, "", false));
        JsonNode hidden = baseCase.get("last_hidden_state");
        for (int i = 0; i < texts.size(); i++) {
            JsonNode rows = hidden.get(i);
            float[] mean = new float[base.info().hiddenSize()];
            for (JsonNode r : rows) {
                float[] f = floats(r);
                for (int d = 0; d < mean.length; d++) mean[d] += f[d] / rows.size();
            }
            assertClose(mean, v[i], 2e-5, "padded mean " + i);
        }
    }

    @Test
    void tokenEmbeddingsAreTheUnpaddedHiddenStates() {
        float[][][] all = base.embedAll(texts.subList(0, 1), false);
        JsonNode mask = baseCase.get("attention_mask").get(0);
        int len = 0;
        for (JsonNode m : mask) len += m.asInt();
        assertEquals(len, all[0].length);
        for (int t = 0; t < len; t++) {
            assertClose(floats(baseCase.get("last_hidden_state").get(0).get(t)), all[0][t], 2e-5, "token " + t);
        }
    }

    @Test
    void tooLongInputsFailUnlessTruncated() {
        String longText = "word ".repeat(300);
        assertTrue(base.prepare(List.of(longText), null, false).getFirst().tokens() > 128);
        assertThrows(IllegalArgumentException.class, () -> base.embed(List.of(longText), Pooling.AUTO, true, false));
        assertEquals(32, base.embed(List.of(longText), Pooling.AUTO, true, true)[0].length);
    }

    @Test
    void classifierGivesSortedSoftmaxWithLabels() throws Exception {
        assertEquals(ModelKind.CLASSIFIER, seqcls.info().kind());
        JsonNode expected = TestSupport.expected("xlmr-seqcls").get("text_classification");
        List<String> inputs = new ArrayList<>();
        expected.forEach(c -> inputs.add(c.get("input").asText()));
        List<List<Prediction>> got = seqcls.classify(inputs.subList(0, 4), null, false, false);
        for (int i = 0; i < 4; i++) {
            JsonNode out = expected.get(i).get("output");
            for (int k = 0; k < out.size(); k++) {
                assertEquals(out.get(k).get("label").asText(), got.get(i).get(k).label());
                assertEquals(out.get(k).get("score").asDouble(), got.get(i).get(k).score(), 2e-5);
            }
        }
        JsonNode logits = TestSupport.expected("xlmr-seqcls").get("cases").get(0).get("logits").get(0);
        List<Prediction> raw = seqcls.classify(List.of(inputs.getFirst()), null, false, true).getFirst();
        assertEquals(logits.get(0).asDouble(), raw.getFirst().score(), 2e-5); // "negative" has the largest logit
        assertThrows(UnsupportedOperationException.class, () -> seqcls.embed(inputs, Pooling.AUTO, true, false));
        assertThrows(UnsupportedOperationException.class, () -> seqcls.rerank("q", inputs, false, false));
        assertThrows(UnsupportedOperationException.class, () -> base.classify(inputs, null, false, false));
    }

    @Test
    void tokensCarryUtf8ByteOffsetsAndSpecialFlags() {
        List<Token> t = base.tokenize(List.of("a😀b Hello"), true).getFirst();
        assertEquals(new Token(0, "<s>", true, null, null), t.getFirst());
        assertEquals("</s>", t.getLast().text());
        for (Token k : t.subList(1, t.size() - 1)) {
            assertTrue(!k.special());
            // TEI's offsets are UTF-8 byte offsets
            byte[] utf8 = "a😀b Hello".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            assertEquals(k.text(), new String(java.util.Arrays.copyOfRange(utf8, k.start(), k.stop()),
                    java.nio.charset.StandardCharsets.UTF_8));
        }
        assertNull(t.getFirst().start());
        List<Token> plain = base.tokenize(List.of("Hello"), false).getFirst();
        assertTrue(plain.stream().noneMatch(Token::special));
        int[] ids = base.tokenize(List.of("Hello world"), true).getFirst().stream().mapToInt(Token::id).toArray();
        assertEquals("Hello world", base.decode(ids, true));
        assertTrue(base.decode(ids, false).startsWith("<s>"));
        assertThrows(IllegalArgumentException.class, () -> base.decode(new int[] {-1}, true));
        assertThrows(IllegalArgumentException.class, () -> base.decode(new int[] {8002}, true));
    }
}
