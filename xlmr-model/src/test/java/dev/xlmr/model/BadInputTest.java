package dev.xlmr.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Inputs the model refuses with an IllegalArgumentException that says what is wrong. */
class BadInputTest {
    static XlmRobertaModel seqcls;
    static XlmRobertaModel mc;

    @BeforeAll
    static void load() {
        seqcls = XlmRobertaModel.load(Fixtures.dir("xlmr-seqcls"));
        mc = XlmRobertaModel.load(Fixtures.dir("xlmr-mc"));
    }

    @AfterAll
    static void close() {
        seqcls.close();
        mc.close();
    }

    private static void assertBad(String part, Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().contains(part), "expected '" + part + "' in: " + ex.getMessage());
    }

    @Test
    void idsOutsideTheVocabulary() {
        assertBad("input_ids[0][1] = 8002 is outside the vocabulary (0..8001)",
                () -> seqcls.forward(new int[][] {{0, 8002, 2}}, null, null));
        assertBad("input_ids[1][0] = -1 is outside the vocabulary",
                () -> seqcls.forward(new int[][] {{0, 5, 2}, {-1, 5, 2}}, null, null));
        assertBad("token_type_ids[0][2] = 1 is outside 0..0",
                () -> seqcls.forward(new int[][] {{0, 5, 2}}, null, new int[][] {{0, 0, 1}}));
        assertBad("input_ids[0][1][2] = 9999",
                () -> mc.forward(new int[][][] {{{0, 5, 2}, {0, 5, 9999}}}, null, null));
    }

    @Test
    void sequencesLongerThanThePositionEmbeddings() {
        int[][] ok = new int[1][128];
        Arrays.fill(ok[0], 5);
        assertEquals(128, seqcls.forward(ok, null, null).get("last_hidden_state").dim(1));
        int[][] tooLong = new int[1][129];
        Arrays.fill(tooLong[0], 5);
        assertBad("sequence of 129 tokens is longer than the model allows (128 = max_position_embeddings 130",
                () -> seqcls.forward(tooLong, null, null));
    }

    @Test
    void raggedOrEmptyBatches() {
        assertBad("empty batch", () -> seqcls.forward(new int[0][], null, null));
        assertBad("empty batch", () -> seqcls.forward((int[][]) null, null, null));
        assertBad("input_ids[0] is empty", () -> seqcls.forward(new int[][] {{}}, null, null));
        assertBad("ragged batch: input_ids[1] has 2 tokens, input_ids[0] has 3",
                () -> seqcls.forward(new int[][] {{0, 5, 2}, {0, 2}}, null, null));
        assertBad("attention_mask[0] has 2 values, input_ids[0] has 3",
                () -> seqcls.forward(new int[][] {{0, 5, 2}}, new int[][] {{1, 1}}, null));
        assertBad("attention_mask has 2 sequences, input_ids has 1",
                () -> seqcls.forward(new int[][] {{0, 5, 2}}, new int[][] {{1, 1, 1}, {1, 1, 1}}, null));
        assertBad("attention_mask[0][1] is 2; it must be 0 or 1",
                () -> seqcls.forward(new int[][] {{0, 5, 2}}, new int[][] {{1, 2, 1}}, null));
        assertBad("token_type_ids[0] has 1 values",
                () -> seqcls.forward(new int[][] {{0, 5, 2}}, null, new int[][] {{0}}));
    }

    @Test
    void multipleChoiceShapes() {
        assertBad("XLMRobertaForMultipleChoice needs inputs shaped [batch][choices][seq]",
                () -> mc.forward(new int[][] {{0, 5, 2}}, null, null));
        assertBad("XLMRobertaForSequenceClassification takes inputs shaped [batch][seq], not choices",
                () -> seqcls.forward(new int[][][] {{{0, 5, 2}}}, null, null));
        assertBad("ragged batch: input_ids[1] has 1 choices, input_ids[0] has 2",
                () -> mc.forward(new int[][][] {{{0, 5, 2}, {0, 6, 2}}, {{0, 5, 2}}}, null, null));
        assertBad("ragged batch", () -> mc.forward(new int[][][] {{{0, 5, 2}, {0, 2}}}, null, null));
        assertBad("empty batch", () -> mc.forward(new int[0][][], null, null));
        ModelOutput out = mc.forward(new int[][][] {{{0, 5, 2}, {0, 6, 2}}, {{0, 7, 2}, {0, 8, 2}}}, null, null);
        assertEquals(java.util.List.of(2, 2), Arrays.stream(out.get("logits").shape()).boxed().toList());
        assertEquals(4, out.get("last_hidden_state").rank());
    }

    @Test
    void unknownOutputNamesAreListed() {
        ModelOutput out = seqcls.forward(new int[][] {{0, 5, 2}}, null, null);
        assertBad("no output 'start_logits'; this model gives [last_hidden_state, logits]", () -> out.get("start_logits"));
    }
}
