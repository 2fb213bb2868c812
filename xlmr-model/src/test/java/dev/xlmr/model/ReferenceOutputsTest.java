package dev.xlmr.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every output of every case in every fixture's expected.json (made with transformers), from
 * model.safetensors and, where the folder has one, pytorch_model.bin: within 1e-4 absolute.
 */
class ReferenceOutputsTest {
    static final double TOL = 1e-4;
    static final String[] FOLDERS = {
        "xlmr-base", "xlmr-mlm", "xlmr-seqcls", "xlmr-nli", "xlmr-tokcls", "xlmr-qa", "xlmr-mc", "xlmr-causal", "xlmr-xl-mlm"
    };

    static Stream<Arguments> checkpoints() {
        List<Arguments> out = new ArrayList<>();
        for (String folder : FOLDERS) {
            for (String file : new String[] {"model.safetensors", "pytorch_model.bin"}) {
                if (Files.exists(Fixtures.dir(folder).resolve(file))) {
                    out.add(Arguments.of(folder, file));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}/{1}")
    @MethodSource("checkpoints")
    void matchesTransformers(String folder, String file) {
        Path dir = Fixtures.dir(folder);
        JsonNode expected = Fixtures.json(dir.resolve("expected.json"));
        ModelConfig config = ModelConfig.load(dir.resolve("config.json"));
        assertEquals(expected.get("architecture").asText(), config.architecture());
        try (XlmRobertaModel model = new XlmRobertaModel(config, Weights.open(dir.resolve(file)))) {
            int n = 0;
            for (JsonNode c : expected.get("cases")) {
                String where = folder + "/" + file + " case " + n++;
                int[][] ids = Fixtures.ints2(c.get("input_ids"));
                int[][] mask = Fixtures.ints2(c.get("attention_mask"));
                ModelOutput out = config.head() == Head.MULTIPLE_CHOICE
                        ? model.forward(new int[][][] {ids}, new int[][][] {mask}, null)
                        : model.forward(ids, mask, null);
                int checked = 0;
                for (String name : List.of("last_hidden_state", "pooler_output", "start_logits", "end_logits")) {
                    if (c.has(name)) {
                        assertClose(c.get(name), out.get(name), where + " " + name);
                        checked++;
                    }
                }
                if (c.has("logits")) {
                    assertClose(c.get("logits"), out.get("logits"), where + " logits");
                    checked++;
                }
                if (c.has("logits_top10_ids")) {
                    checkVocabLogits(c, out.get("logits"), where);
                    checked++;
                }
                assertTrue(checked >= 2 || config.head() == Head.MULTIPLE_CHOICE && checked == 1, where + ": nothing compared");
            }
            assertTrue(n > 0, folder + ": no cases");
        }
    }

    /** Top-10 ids exactly, their values and the full rows given within the tolerance. */
    private static void checkVocabLogits(JsonNode c, NdArray logits, String where) {
        int vocab = logits.dim(2);
        JsonNode topIds = c.get("logits_top10_ids");
        JsonNode topValues = c.get("logits_top10_values");
        for (int b = 0; b < topIds.size(); b++) {
            for (int t = 0; t < topIds.get(b).size(); t++) {
                float[] row = Arrays.copyOfRange(logits.data(), (b * logits.dim(1) + t) * vocab, (b * logits.dim(1) + t + 1) * vocab);
                int[] top = top10(row);
                int[] want = new int[10];
                for (int k = 0; k < 10; k++) {
                    want[k] = topIds.get(b).get(t).get(k).intValue();
                }
                assertArrayEquals(want, top, where + " top-10 ids at [" + b + "][" + t + "]");
                for (int k = 0; k < 10; k++) {
                    assertEquals(topValues.get(b).get(t).get(k).doubleValue(), row[top[k]], TOL,
                            where + " top-10 value " + k + " at [" + b + "][" + t + "]");
                }
            }
        }
        for (JsonNode r : c.get("logits_rows")) {
            int b = r.get("batch").intValue();
            int t = r.get("position").intValue();
            JsonNode values = r.get("values");
            assertEquals(vocab, values.size());
            for (int v = 0; v < vocab; v++) {
                assertEquals(values.get(v).doubleValue(), logits.get(b, t, v), TOL, where + " logits[" + b + "][" + t + "][" + v + "]");
            }
        }
    }

    /** The 10 largest entries, largest first; ties keep the lower id first, as torch.topk does here. */
    private static int[] top10(float[] row) {
        int[] top = new int[10];
        int n = 0;
        for (int i = 0; i < row.length; i++) {
            if (n == 10 && row[i] <= row[top[9]]) {
                continue;
            }
            int j = Math.min(n, 9);
            while (j > 0 && row[top[j - 1]] < row[i]) {
                top[j] = top[j - 1];
                j--;
            }
            top[j] = i;
            n = Math.min(n + 1, 10);
        }
        return top;
    }

    /** Compares a nested JSON array with an output of the same shape. */
    static void assertClose(JsonNode expected, NdArray actual, String where) {
        List<Integer> shape = new ArrayList<>();
        for (JsonNode n = expected; n.isArray(); n = n.get(0)) {
            shape.add(n.size());
        }
        assertArrayEquals(shape.stream().mapToInt(Integer::intValue).toArray(), actual.shape(), where + " shape");
        float[] data = actual.data();
        int[] at = {0};
        walk(expected, data, at, where);
        assertEquals(data.length, at[0]);
    }

    private static void walk(JsonNode n, float[] data, int[] at, String where) {
        if (n.isArray()) {
            for (JsonNode x : n) {
                walk(x, data, at, where);
            }
        } else {
            int i = at[0]++;
            assertEquals(n.doubleValue(), data[i], TOL, where + " element " + i);
        }
    }
}
