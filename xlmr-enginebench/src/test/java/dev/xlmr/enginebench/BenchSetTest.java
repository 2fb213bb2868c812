package dev.xlmr.enginebench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The benchmark's sentence set, pooling, and the peer's tokenizer working offline with the same ids as ours. */
class BenchSetTest {
    static final Path TESTDATA = Path.of(System.getProperty("xlmr.testdata"));

    @Test
    void thousandCorpusLinesEveryThirdWithoutTheEdgeCases() {
        List<String> set = BenchSet.load(TESTDATA.resolve("tokenizer/tok_public.txt"), 1000);
        assertEquals(1000, set.size());
        assertTrue(set.getFirst().startsWith("Utilisation des étiquettes de symbole"), set.getFirst());
        assertEquals(set, BenchSet.load(TESTDATA.resolve("tokenizer/tok_public.txt"), 1000));
        for (String s : set) {
            assertFalse(s.isBlank());
        }
    }

    @Test
    void meanPoolingAndCosine() {
        float[] hidden = {9, 9, 1, 2, 3, 6, 9, 9};
        assertArrayEquals(new float[] {2, 4}, Pooling.mean(hidden, 2, 2, 2));
        assertEquals(1.0, Pooling.cosine(new float[] {1, 2}, new float[] {2, 4}), 1e-12);
        assertEquals(0.0, Pooling.cosine(new float[] {1, 0}, new float[] {0, 3}), 1e-12);
    }

    /** DJL loads HF tokenizers' native library from its jar (offline) and gives our tokenizer's ids. */
    @Test
    void djlTokenizerGivesOurIds() throws Exception {
        Path dir = TESTDATA.resolve("xlmr-base");
        XlmRobertaTokenizer ours = XlmRobertaTokenizer.load(dir, XlmRobertaTokenizer.Format.JSON);
        List<String> set = BenchSet.load(TESTDATA.resolve("tokenizer/tok_public.txt"), 1000);
        try (HuggingFaceTokenizer djl = HuggingFaceTokenizer.newInstance(dir.resolve("tokenizer.json"), Map.of(
                "addSpecialTokens", "true", "truncation", "true", "maxLength", "512", "padding", "false"))) {
            var enc = djl.batchEncode(set);
            for (int i = 0; i < set.size(); i++) {
                long[] want = java.util.Arrays.stream(ours.encode(set.get(i), null, EncodeOptions.defaults().maxLength(512)).ids())
                        .asLongStream().toArray();
                assertArrayEquals(want, enc[i].getIds(), "sentence " + i);
            }
        }
    }
}
