package dev.xlmr.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.engine.FastEncoder;
import dev.xlmr.model.Batch;
import dev.xlmr.model.Encoder;
import dev.xlmr.model.LengthBatching;
import dev.xlmr.model.ModelConfig;
import dev.xlmr.model.ModelOutput;
import dev.xlmr.model.PackedInput;
import dev.xlmr.model.PackedOutput;
import dev.xlmr.model.XlmRobertaModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The one length-aware batching: every sequence's output in the caller's order equals that sequence run alone
 * through the reference's padded form, on both encoders; every forward pass keeps the bounds (sequences, tokens,
 * rows for a length) and gets its sequences longest first.
 */
class LengthBatchingTest {

    /** Counts the packed forward passes and checks each against the bounds. */
    static final class Watching implements Encoder {
        final Encoder inner;
        final int maxRows;
        final int maxTokens;
        int passes;

        Watching(Encoder inner, int maxRows, int maxTokens) {
            this.inner = inner;
            this.maxRows = maxRows;
            this.maxTokens = maxTokens;
        }

        @Override
        public ModelConfig config() {
            return inner.config();
        }

        @Override
        public ModelOutput forward(Batch batch) {
            throw new AssertionError("the batching runs packed");
        }

        @Override
        public PackedOutput forward(PackedInput input) {
            passes++;
            assertTrue(input.sequences() <= maxRows, input.sequences() + " sequences");
            assertTrue(input.sequences() == 1 || input.sequences() * input.longest() <= maxTokens,
                    input.sequences() + " x " + input.longest());
            for (int s = 1; s < input.sequences(); s++) {
                assertTrue(input.length(s) <= input.length(s - 1), "longest first");
            }
            return inner.forward(input);
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    @Test
    void outputsInTheCallersOrderOnBothEncoders() {
        Random r = new Random(9);
        List<int[]> seqs = new ArrayList<>();
        for (int len : new int[] {3, 1, 17, 2, 40, 3, 9, 1, 33, 5, 2}) {
            int[] ids = new int[len];
            for (int t = 0; t < len; t++) {
                ids[t] = t == 0 ? 0 : t == len - 1 ? 2 : 4 + r.nextInt(7000);
            }
            seqs.add(ids);
        }
        try (XlmRobertaModel ref = XlmRobertaModel.load(Fixtures.dir("xlmr-seqcls"));
             FastEncoder fast = FastEncoder.load(Fixtures.dir("xlmr-seqcls"), FastEncoder.Options.defaults().threads(2))) {
            for (Encoder enc : new Encoder[] {ref, fast}) {
                Watching w = new Watching(enc, 3, 60);
                float[][] hidden = new float[seqs.size()][];
                float[][] logits = new float[seqs.size()][];
                // rows for a length: at most 2 for sequences over 16 tokens
                new LengthBatching(3, 60, len -> len > 16 ? 2 : 3).run(w, seqs, (i, out, s) -> {
                    hidden[i] = out.tokens("last_hidden_state", s);
                    logits[i] = out.sequence("logits", s);
                });
                assertTrue(w.passes >= 5, w.passes + " passes");
                for (int i = 0; i < seqs.size(); i++) {
                    assertNotNull(hidden[i], "sequence " + i);
                    ModelOutput alone = ref.forward(Batch.of(new int[][] {seqs.get(i)}, null, null));
                    float[] want = alone.get("last_hidden_state").data();
                    assertEquals(want.length, hidden[i].length);
                    for (int j = 0; j < want.length; j++) {
                        assertEquals(want[j], hidden[i][j], 1e-4, enc.getClass().getSimpleName() + " sequence " + i);
                    }
                    float[] wantLogits = alone.get("logits").data();
                    for (int j = 0; j < wantLogits.length; j++) {
                        assertEquals(wantLogits[j], logits[i][j], 1e-4, enc.getClass().getSimpleName() + " logits " + i);
                    }
                }
            }
        }
    }

    /** The fast engine's encodeAll batches as run does: the same batches, so the same hidden states, bit for bit. */
    @Test
    void fastEncodeAllRunsTheSameBatches() {
        Random r = new Random(13);
        List<int[]> seqs = new ArrayList<>();
        for (int len : new int[] {3, 1, 17, 2, 40, 3, 9, 1, 33, 5, 2, 17}) {
            int[] ids = new int[len];
            for (int t = 0; t < len; t++) {
                ids[t] = t == 0 ? 0 : t == len - 1 ? 2 : 4 + r.nextInt(7000);
            }
            seqs.add(ids);
        }
        try (FastEncoder fast = FastEncoder.load(Fixtures.dir("xlmr-seqcls"), FastEncoder.Options.defaults().threads(2))) {
            float[][] want = new float[seqs.size()][];
            LengthBatching.of(4).run(fast, seqs, (i, out, s) -> want[i] = out.tokens("last_hidden_state", s));
            float[][] got = fast.encodeAll(seqs, 4);
            for (int i = 0; i < seqs.size(); i++) {
                assertEquals(want[i].length, got[i].length, "sequence " + i);
                for (int j = 0; j < want[i].length; j++) {
                    assertEquals(Float.floatToRawIntBits(want[i][j]), Float.floatToRawIntBits(got[i][j]),
                            "sequence " + i + " value " + j + ": " + want[i][j] + " vs " + got[i][j]);
                }
            }
        }
    }

    @Test
    void badBoundsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> LengthBatching.of(0));
        assertThrows(IllegalArgumentException.class, () -> new LengthBatching(4, -1, len -> 4));
    }
}
