package dev.xlmr.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.model.Batch;
import dev.xlmr.model.Encoder;
import dev.xlmr.model.ModelOutput;
import dev.xlmr.model.NdArray;
import dev.xlmr.model.PackedInput;
import dev.xlmr.model.PackedOutput;
import dev.xlmr.model.XlmRobertaModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The packed form of {@link Encoder#forward(PackedInput)} against the padded one, on both encoders: every fixture
 * model, odd lengths (1, 2, 3, 17, 127 tokens and a mixed batch of 33), the default kernels for the fast engine.
 * The padded reference run on the padded batch is the expected value: the reference's packed form (its padded path
 * cut to the real tokens) equals it exactly, the fast engine's native packed form within 1e-4 (fp32), and the fast
 * engine's own padded form within 1e-6.
 */
class PackedForwardTest {

    /** The reference batches as packed inputs: each row's real tokens (the fixture batches are right-padded). */
    static PackedInput packed(Batch b) {
        List<int[]> seqs = new ArrayList<>();
        for (int r = 0; r < b.rows(); r++) {
            int len = 0;
            while (len < b.sequenceLength() && b.attentionMask()[r][len] == 1) {
                len++;
            }
            seqs.add(java.util.Arrays.copyOf(b.inputIds()[r], len));
        }
        return PackedInput.of(seqs, null, b.choices());
    }

    /** Every output of {@code got} against the padded {@code want} at the real positions, within {@code tol}. */
    static void compare(ModelOutput want, PackedOutput got, Batch b, double tol, String what) {
        assertEquals(want.names(), got.names(), what);
        PackedInput in = packed(b);
        for (String name : want.names()) {
            NdArray w = want.get(name);
            if (!got.perToken(name)) {
                assertArrayEquals(w.shape(), got.get(name).shape(), what + " " + name);
                close(w.data(), got.get(name).data(), tol, what + " " + name);
                continue;
            }
            assertEquals(in.tokens(), got.get(name).dim(0), what + " " + name + " rows");
            int seq = b.sequenceLength();
            int width = w.data().length / (b.rows() * seq);
            for (int s = 0; s < b.rows(); s++) {
                float[] row = java.util.Arrays.copyOfRange(w.data(), s * seq * width, (s * seq + in.length(s)) * width);
                close(row, got.tokens(name, s), tol, what + " " + name + " sequence " + s);
                if (in.length(s) > 1) {
                    float[] last = got.at(name, s, in.length(s) - 1);
                    close(java.util.Arrays.copyOfRange(row, row.length - width, row.length), last, tol,
                            what + " " + name + " last token of " + s);
                }
            }
        }
    }

    static void close(float[] want, float[] got, double tol, String what) {
        assertEquals(want.length, got.length, what + " length");
        for (int i = 0; i < want.length; i++) {
            double d = Math.abs(want[i] - got[i]);
            assertTrue(d <= tol, what + ": at " + i + " want " + want[i] + " got " + got[i]);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void theReferencePackedFormIsItsPaddedPathCut(String model) {
        try (XlmRobertaModel ref = XlmRobertaModel.load(FastEncoderTest.fixture(model))) {
            for (Map.Entry<Batch, ModelOutput> e : FastEncoderTest.reference(model)) {
                Batch b = e.getKey();
                compare(e.getValue(), ref.forward(packed(b)), b, 0, model + " rows " + b.rows());
            }
        }
    }

    static String[] models() {
        return FastEncoderTest.MODELS;
    }

    /**
     * On the default kernels: the packed and padded forms share the layers and kernels (FastEncoderTest runs every
     * provider against the reference); what differs is the packing and the heads.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void theFastPackedFormEqualsThePaddedOnes(String model) {
        String provider = "auto";
        try (Kernels k = KernelProvider.create(provider, 2);
             FastEncoder fast = new FastEncoder(XlmRobertaModel.load(FastEncoderTest.fixture(model)), k, Precision.FP32)) {
            for (Map.Entry<Batch, ModelOutput> e : FastEncoderTest.reference(model)) {
                Batch b = e.getKey();
                String what = model + "/" + provider + " rows " + b.rows() + " seq " + b.sequenceLength();
                PackedOutput got = fast.forward(packed(b));
                compare(e.getValue(), got, b, 1e-4, what + " vs reference");
                compare(fast.forward(b), got, b, 1e-6, what + " vs its padded form");
            }
        }
    }

    /**
     * oneDNN copies fp32 weights into its blocked layout in the background after load; a result must not depend on
     * whether that was done. Each input on a fresh encoder: its first call after load, then again once every copy
     * is made, bit for bit (a lone token is one row per matmul, a gemv on AVX2, where the plain and blocked layouts
     * sum in different orders).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void theFirstCallAfterLoadGivesTheSameBitsAsLaterOnes(String model) {
        org.junit.jupiter.api.Assumptions.assumeTrue(KernelProvider.isAvailable("onednn"), "onednn not available here");
        org.junit.jupiter.api.Assumptions.assumeTrue(!model.equals("xlmr-mc"), "choices: see the padded batches");
        Random r = new Random(11);
        int vocab = dev.xlmr.model.ModelConfig.load(FastEncoderTest.fixture(model).resolve("config.json")).vocabSize();
        for (int[] lengths : new int[][] {{1}, {3, 17, 2}, {127}}) {
            List<int[]> ids = new ArrayList<>();
            for (int len : lengths) {
                ids.add(FastEncoderTest.randomBatch(r, vocab, len).inputIds()[0]);
            }
            PackedInput in = PackedInput.of(ids);
            try (Kernels k = KernelProvider.create("onednn", 2);
                 FastEncoder fast = new FastEncoder(XlmRobertaModel.load(FastEncoderTest.fixture(model)), k, Precision.FP32)) {
                PackedOutput first = fast.forward(in);
                k.drain();
                PackedOutput again = fast.forward(in);
                assertEquals(first.names(), again.names());
                for (String name : first.names()) {
                    float[] a = first.get(name).data(), b = again.get(name).data();
                    assertEquals(a.length, b.length, name);
                    for (int i = 0; i < a.length; i++) {
                        assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(b[i]), model + " lengths "
                                + java.util.Arrays.toString(lengths) + " " + name + " at " + i + ": " + a[i] + " then " + b[i]);
                    }
                }
            }
        }
    }

    @Test
    void oddLengthsInAnyOrderAndTokenTypes() {
        try (XlmRobertaModel ref = XlmRobertaModel.load(FastEncoderTest.fixture("xlmr-seqcls"));
             FastEncoder fast = FastEncoder.load(FastEncoderTest.fixture("xlmr-seqcls"),
                     FastEncoder.Options.defaults().threads(2))) {
            Random r = new Random(5);
            int[] lengths = {2, 127, 1, 3, 17, 2};   // not sorted: the packed form keeps the caller's order
            List<int[]> ids = new ArrayList<>();
            List<int[]> types = new ArrayList<>();
            for (int len : lengths) {
                ids.add(FastEncoderTest.randomBatch(r, 8002, len).inputIds()[0]);
                int[] t = new int[len];
                types.add(t);   // zeros: the fixtures have one token type
            }
            PackedInput in = PackedInput.of(ids, types, 0);
            PackedOutput want = ref.forward(in);
            PackedOutput got = fast.forward(in);
            for (int s = 0; s < lengths.length; s++) {
                Batch one = Batch.of(new int[][] {ids.get(s)}, null, null);
                close(ref.forward(one).get("last_hidden_state").data(), want.tokens("last_hidden_state", s), 0,
                        "reference sequence " + s);
                close(want.tokens("last_hidden_state", s), got.tokens("last_hidden_state", s), 1e-4, "sequence " + s);
                close(want.sequence("logits", s), got.sequence("logits", s), 1e-4, "logits " + s);
            }
            assertArrayEquals(new int[] {0, 2, 129, 130, 133, 150, 152}, got.cuSeqlens());
        }
    }

    @Test
    void badPackedInputsAreRefusedWithOneLine() {
        assertThrows(IllegalArgumentException.class, () -> new PackedInput(new int[] {0, 2}, new int[] {0}, null, 0));
        assertThrows(IllegalArgumentException.class, () -> new PackedInput(new int[] {0, 2}, new int[] {1, 2}, null, 0));
        assertThrows(IllegalArgumentException.class, () -> new PackedInput(new int[] {0, 2}, new int[] {0, 0, 2}, null, 0));
        assertThrows(IllegalArgumentException.class, () -> new PackedInput(new int[] {0, 2}, new int[] {0, 3}, null, 0));
        assertThrows(IllegalArgumentException.class, () -> new PackedInput(new int[] {0, 2}, new int[] {0, 2}, new int[1], 0));
        assertThrows(IllegalArgumentException.class, () -> PackedInput.of(List.of(new int[] {0}, new int[0])));
        try (FastEncoder fast = FastEncoder.load(FastEncoderTest.fixture("xlmr-base"),
                FastEncoder.Options.defaults().threads(1))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> fast.forward(PackedInput.of(List.of(new int[] {0, 5, 2}, new int[] {0, 99999, 2}))));
            assertTrue(e.getMessage().startsWith("input_ids[1][1] = 99999"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> fast.forward(PackedInput.of(List.of(new int[600]))));
            assertTrue(e.getMessage().contains("sequence 0 of 600 tokens"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> fast.forward(PackedInput.of(List.of(new int[] {0, 2}, new int[] {0, 2}), null, 2)));
            assertTrue(e.getMessage().contains("not choices"), e.getMessage());
        }
    }
}
