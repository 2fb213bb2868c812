package dev.xlmr.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xlmr.model.Batch;
import dev.xlmr.model.ModelOutput;
import dev.xlmr.model.NdArray;
import dev.xlmr.model.XlmRobertaModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fast encoder against the plain reference forward pass: every fixture model, every kernel
 * provider, odd sizes (1, 3, 17, 127 tokens; batches of 1 and 33), fp32 within 1e-4 at every real
 * position, and the reduced precisions by cosine similarity.
 */
class FastEncoderTest {
    static final String[] MODELS = {"xlmr-base", "xlmr-mlm", "xlmr-seqcls", "xlmr-nli", "xlmr-tokcls", "xlmr-qa",
        "xlmr-mc", "xlmr-causal", "xlmr-xl-mlm"};

    static Path fixture(String name) {
        return Path.of(System.getProperty("xlmr.testdata")).resolve(name);
    }

    static Stream<Arguments> modelsAndProviders() {
        List<Arguments> out = new ArrayList<>();
        for (String m : MODELS) {
            for (String k : KernelProvider.NAMES) {
                out.add(Arguments.of(m, k));
            }
        }
        return out.stream();
    }

    /** Random batches of the given lengths, right-padded as the tokenizer pads. */
    static Batch randomBatch(Random r, int vocab, int... lengths) {
        int max = 0;
        for (int l : lengths) {
            max = Math.max(max, l);
        }
        int[][] ids = new int[lengths.length][max];
        int[][] mask = new int[lengths.length][max];
        for (int i = 0; i < lengths.length; i++) {
            for (int t = 0; t < max; t++) {
                if (t < lengths[i]) {
                    ids[i][t] = t == 0 ? 0 : t == lengths[i] - 1 ? 2 : 4 + r.nextInt(vocab - 5);
                    mask[i][t] = 1;
                } else {
                    ids[i][t] = 1;
                }
            }
        }
        return Batch.of(ids, mask, null);
    }

    static List<Batch> batches(XlmRobertaModel ref) throws Exception {
        List<Batch> out = new ArrayList<>();
        Path dir = fixture(ref.config().architecture().contains("MultipleChoice") ? "xlmr-mc" : "xlmr-base");
        Random r = new Random(42);
        int v = ref.config().vocabSize();
        if (ref.config().head() == dev.xlmr.model.Head.MULTIPLE_CHOICE) {
            JsonNode c = new ObjectMapper().readTree(dir.resolve("expected.json").toFile()).get("cases").get(0);
            // one question with its choices: [choices][seq] in the fixture, [1][choices][seq] here
            int[][] ids = new ObjectMapper().convertValue(c.get("input_ids"), int[][].class);
            int[][] mask = new ObjectMapper().convertValue(c.get("attention_mask"), int[][].class);
            out.add(Batch.ofChoices(new int[][][] {ids}, new int[][][] {mask}, null));
            return out;
        }
        out.add(randomBatch(r, v, 1));
        out.add(randomBatch(r, v, 3));
        out.add(randomBatch(r, v, 17));
        out.add(randomBatch(r, v, 127));
        int[] lens = new int[33];
        for (int i = 0; i < lens.length; i++) {
            lens[i] = 1 + r.nextInt(40);
        }
        lens[5] = 127;
        out.add(randomBatch(r, v, lens));
        return out;
    }

    /** Compares every output at real positions (padding rows of token-level outputs are not defined). */
    static void compare(ModelOutput want, ModelOutput got, Batch b, double tol, double minCosine, String what) {
        assertEquals(want.names(), got.names(), what);
        for (String name : want.names()) {
            NdArray w = want.get(name);
            NdArray g = got.get(name);
            assertArrayEquals(w.shape(), g.shape(), what + " " + name);
            boolean tokenLevel = switch (name) {
                case "last_hidden_state", "start_logits", "end_logits" -> true;
                case "logits" -> !b.isMultipleChoice() && w.rank() == 3;
                default -> false;
            };
            int rows = b.rows();
            int seq = b.sequenceLength();
            int width = tokenLevel ? w.data().length / (rows * seq) : 0;
            double dot = 0;
            double ww = 0;
            double gg = 0;
            double worst = 0;
            for (int i = 0; i < w.data().length; i++) {
                if (tokenLevel) {
                    int row = i / (seq * width);
                    int t = (i / width) % seq;
                    if (b.attentionMask()[row][t] == 0) {
                        continue;
                    }
                }
                double a = w.data()[i];
                double c = g.data()[i];
                worst = Math.max(worst, Math.abs(a - c));
                dot += a * c;
                ww += a * a;
                gg += c * c;
            }
            if (tol > 0) {
                assertTrue(worst <= tol, what + " " + name + ": max abs difference " + worst);
            }
            double cos = dot / Math.sqrt(ww * gg + 1e-30);
            assertTrue(cos >= minCosine, what + " " + name + ": cosine " + cos);
        }
    }

    /** Reference outputs per model, computed once (the plain forward pass is slow). */
    static final java.util.Map<String, List<Map.Entry<Batch, ModelOutput>>> REFERENCE = new java.util.concurrent.ConcurrentHashMap<>();

    static List<Map.Entry<Batch, ModelOutput>> reference(String model) {
        return REFERENCE.computeIfAbsent(model, m -> {
            try (XlmRobertaModel ref = XlmRobertaModel.load(fixture(m))) {
                List<Map.Entry<Batch, ModelOutput>> out = new ArrayList<>();
                for (Batch b : batches(ref)) {
                    out.add(Map.entry(b, ref.forward(b)));
                }
                return out;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("modelsAndProviders")
    void fp32MatchesTheReference(String model, String provider) throws Exception {
        Assumptions.assumeTrue(KernelProvider.isAvailable(provider), provider + " kernels not available here");
        try (Kernels k = KernelProvider.create(provider, 2);
             FastEncoder fast = new FastEncoder(XlmRobertaModel.load(fixture(model)), k, Precision.FP32)) {
            for (Map.Entry<Batch, ModelOutput> e : reference(model)) {
                Batch b = e.getKey();
                compare(e.getValue(), fast.forward(b), b, 1e-4, 0.999999, model + "/" + provider + " rows " + b.rows()
                        + " seq " + b.sequenceLength());
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("reducedPrecisions")
    void reducedPrecisionKeepsCosine(Precision precision) throws Exception {
        for (String model : new String[] {"xlmr-base", "xlmr-xl-mlm", "xlmr-seqcls"}) {
            try (Kernels k = KernelProvider.create("auto", 2);
                 FastEncoder fast = new FastEncoder(XlmRobertaModel.load(fixture(model)), k, precision)) {
                for (Map.Entry<Batch, ModelOutput> e : reference(model)) {
                    compare(e.getValue(), fast.forward(e.getKey()), e.getKey(), 0, 0.999, model + "/" + precision);
                }
            }
        }
    }

    static Stream<Precision> reducedPrecisions() {
        return Stream.of(Precision.BF16, Precision.INT8);
    }

    /**
     * Attention spread over more threads than cores and than some batches have (sequence, head) pairs: 1, 3 and 5
     * participants on odd lengths, bidirectional, causal and pre-LayerNorm, every provider.
     */
    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("parallelAttentionCases")
    void parallelAttentionMatchesTheReference(String model, String provider) throws Exception {
        Assumptions.assumeTrue(KernelProvider.isAvailable(provider), provider + " kernels not available here");
        for (int threads : new int[] {1, 3, 5}) {
            try (Kernels k = KernelProvider.create(provider, 3);
                 FastEncoder fast = new FastEncoder(XlmRobertaModel.load(fixture(model)), k, Precision.FP32, threads)) {
                for (int round = 0; round < 2; round++) { // the second round reuses the grown scratch buffers
                    for (Map.Entry<Batch, ModelOutput> e : reference(model)) {
                        Batch b = e.getKey();
                        compare(e.getValue(), fast.forward(b), b, 1e-4, 0.999999, model + "/" + provider + " attention threads "
                                + threads + " rows " + b.rows() + " seq " + b.sequenceLength());
                    }
                }
            }
        }
    }

    static Stream<Arguments> parallelAttentionCases() {
        List<Arguments> out = new ArrayList<>();
        for (String m : new String[] {"xlmr-base", "xlmr-causal", "xlmr-xl-mlm"}) {
            for (String k : KernelProvider.NAMES) {
                out.add(Arguments.of(m, k));
            }
        }
        return out.stream();
    }

    @org.junit.jupiter.api.Test
    void encodeAllKeepsOrderAndEqualsForward() throws Exception {
        try (XlmRobertaModel ref = XlmRobertaModel.load(fixture("xlmr-base"));
             FastEncoder fast = FastEncoder.load(fixture("xlmr-base"), FastEncoder.Options.defaults().threads(2))) {
            Random r = new Random(3);
            List<int[]> seqs = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                Batch b = randomBatch(r, 8002, 1 + r.nextInt(60));
                seqs.add(b.inputIds()[0]);
            }
            float[][] all = fast.encodeAll(seqs, 7);
            for (int i = 0; i < seqs.size(); i += 9) {
                int[] ids = seqs.get(i);
                float[] want = ref.forward(new int[][] {ids}, null, null).get("last_hidden_state").data();
                assertEquals(want.length, all[i].length);
                for (int j = 0; j < want.length; j++) {
                    assertEquals(want[j], all[i][j], 1e-4, "sequence " + i + " value " + j);
                }
            }
            assertThrows(IllegalArgumentException.class, () -> fast.encodeAll(List.of(new int[] {0, 99999, 2}), 4));
            assertThrows(IllegalArgumentException.class, () -> fast.encodeAll(List.of(new int[200]), 4));
        }
    }

    @org.junit.jupiter.api.Test
    void aPassAfterCloseIsRefusedNotRunOnFreedWeights() throws Exception {
        FastEncoder fast = FastEncoder.load(fixture("xlmr-base"), FastEncoder.Options.defaults().threads(2));
        int[][] ids = {{0, 581, 2}};
        assertEquals(3 * 32, fast.encodePacked(ids)[0].length);
        fast.close();
        fast.close(); // twice is harmless
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> fast.encodePacked(ids));
        assertEquals("the encoder is closed", e.getMessage());
        assertThrows(IllegalStateException.class, () -> fast.forward(Batch.of(ids, new int[][] {{1, 1, 1}}, null)));
    }
    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("modelsAndProviders")
    void paddedPositionsMatchTheReference(String model, String provider) throws Exception {
        Assumptions.assumeTrue(KernelProvider.isAvailable(provider), provider + " kernels not available here");
        Assumptions.assumeTrue(!model.equals("xlmr-mc") && !model.equals("xlmr-causal"), "encoder batches only");
        try (XlmRobertaModel ref = XlmRobertaModel.load(fixture(model));
             Kernels k = KernelProvider.create(provider, 2);
             FastEncoder fast = new FastEncoder(XlmRobertaModel.load(fixture(model)), k, Precision.FP32)) {
            Random r = new Random(11);
            // odd sizes: one row without padding, rows padded by 1 and by many positions
            for (int[] lengths : new int[][] {{1, 3}, {17, 2, 16, 5}, {127, 1, 64}}) {
                Batch b = randomBatch(r, ref.config().vocabSize(), lengths);
                float[] want = ref.forward(b).get("last_hidden_state").data();
                NdArray got = fast.paddedLastHiddenState(b);
                assertEquals(want.length, got.data().length);
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], got.data()[i], 1e-4, model + "/" + provider + " value " + i);
                }
            }
        }
    }
}
