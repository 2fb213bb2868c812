package dev.xlmr.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * output_hidden_states and output_attentions of the reference model against
 * src/test/resources/outputs/expected.json: an independent PyTorch re-implementation of transformers'
 * forward (bench/reference/xlmr_reference.py, checked there against the fixture's transformers
 * last_hidden_state), on a padded batch of xlmr-base (post-LayerNorm) and xlmr-xl-mlm (pre-LayerNorm):
 * every position, padding included, within 1e-4 absolute.
 */
class HiddenStatesTest {
    static final double TOL = 1e-4;

    @Test
    void hiddenStatesAndAttentionsMatchTheReference() {
        JsonNode expected = Fixtures.json(Path.of("src", "test", "resources", "outputs", "expected.json"));
        int cases = 0;
        for (JsonNode c : expected.get("cases")) {
            String name = c.get("model").asText();
            try (XlmRobertaModel model = XlmRobertaModel.load(Fixtures.dir(name))) {
                int[][] ids = Fixtures.ints2(c.get("input_ids"));
                int[][] mask = Fixtures.ints2(c.get("attention_mask"));
                ModelOutput out = model.forward(Batch.of(ids, mask, null), true, true);
                int layers = model.config().numHiddenLayers();
                NdArray states = out.get("hidden_states");
                NdArray attentions = out.get("attentions");
                assertArrayEquals(new int[] {layers + 1, ids.length, ids[0].length, model.config().hiddenSize()},
                        states.shape(), name);
                assertArrayEquals(new int[] {layers, ids.length, model.config().numAttentionHeads(), ids[0].length,
                        ids[0].length}, attentions.shape(), name);
                assertClose(flatten(c.get("hidden_states")), states.data(), name + " hidden_states");
                assertClose(flatten(c.get("attentions")), attentions.data(), name + " attentions");
                // the last hidden state is the last of the hidden states
                float[] last = out.get("last_hidden_state").data();
                float[] tail = java.util.Arrays.copyOfRange(states.data(), states.data().length - last.length,
                        states.data().length);
                assertArrayEquals(last, tail, name);
                // without the flags the outputs are the usual ones
                ModelOutput plain = model.forward(Batch.of(ids, mask, null));
                assertFalse(plain.has("hidden_states") || plain.has("attentions"));
                assertArrayEquals(last, plain.get("last_hidden_state").data(), name);
                // one of the two alone
                assertFalse(model.forward(Batch.of(ids, mask, null), true, false).has("attentions"));
                assertFalse(model.forward(Batch.of(ids, mask, null), false, true).has("hidden_states"));
                cases++;
            }
        }
        assertEquals(2, cases);
    }

    @Test
    void tooLargeForOneArrayIsAClearError() {
        try (XlmRobertaModel model = XlmRobertaModel.load(Fixtures.dir("xlmr-base"))) {
            int[][] ids = new int[40_000][128];
            for (int[] row : ids) {
                java.util.Arrays.fill(row, 5);
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.forward(Batch.of(ids, null, null), false, true));
            assertEquals(true, e.getMessage().contains("split the batch"), e.getMessage());
        }
    }

    private static float[] flatten(JsonNode a) {
        List<Float> out = new ArrayList<>();
        walk(a, out);
        float[] v = new float[out.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = out.get(i);
        }
        return v;
    }

    private static void walk(JsonNode a, List<Float> out) {
        if (a.isArray()) {
            for (JsonNode x : a) {
                walk(x, out);
            }
        } else {
            out.add((float) a.asDouble());
        }
    }

    private static void assertClose(float[] expected, float[] got, String where) {
        assertEquals(expected.length, got.length, where + " size");
        for (int i = 0; i < got.length; i++) {
            if (Math.abs(expected[i] - got[i]) > TOL) {
                throw new AssertionError(where + " [" + i + "]: expected " + expected[i] + ", got " + got[i]);
            }
        }
    }
}
