package dev.xlmr.engine;

import static dev.xlmr.engine.TestData.assertClose;
import static dev.xlmr.engine.TestData.gaussian;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Kernels#attention}: the scalar reference against hand-computed values and against its definition through
 * the reference GEMM and softmax, then every provider against the scalar reference on packed sequences of odd
 * lengths, several heads, padded (query-only) positions and causal masks.
 */
class AttentionTest {
    static final ScalarKernels REF = new ScalarKernels();
    static final int[] LENS = {1, 3, 17, 127};
    static final int[] HEAD_SIZES = {8, 13, 64};
    static final int HEADS = 3;

    private static final java.util.List<Kernels> opened = new java.util.ArrayList<>();

    @AfterAll
    static void closeAll() {
        opened.forEach(Kernels::close);
    }

    /** Packed sequences {@link #LENS} in a fused q/k/v buffer {@code [tokens][3 * HEADS * d]}, with their offsets. */
    record Packed(float[] qkv, int[] start, int d) {
        int hidden() { return HEADS * d; }
        int tokens() { return start[start.length - 1]; }
    }

    static Packed packed(Random r, int d) {
        int[] start = new int[LENS.length + 1];
        for (int i = 0; i < LENS.length; i++) start[i + 1] = start[i] + LENS[i];
        return new Packed(gaussian(r, start[LENS.length] * 3 * HEADS * d, 1), start, d);
    }

    /** How many keys sequence {@code s} has under each mask: all, the first half (at least one), or none. */
    static int keys(String mask, int len) {
        return switch (mask) {
            case "padded" -> Math.max(1, len / 2);
            case "empty" -> 0;
            default -> len;
        };
    }

    /** Every (sequence, head) of {@code p} through {@code k}, {@code threads} at a time, each with its own scratch. */
    static float[] run(Kernels k, Packed p, String mask, int threads) {
        int h = p.hidden(), h3 = 3 * h, d = p.d(), seqs = p.start().length - 1;
        float[] ctx = new float[p.tokens() * h];
        Arrays.fill(ctx, Float.NaN); // every element must be written
        float scale = (float) (1 / Math.sqrt(d));
        IntStream units = IntStream.range(0, seqs * HEADS);
        (threads > 1 ? units.parallel() : units).forEach(u -> {
            int s = u / HEADS, hd = u % HEADS;
            int off = p.start()[s], len = p.start()[s + 1] - off;
            float[] buf = new float[(int) k.attentionScratch(len, d)];
            Arrays.fill(buf, Float.NaN); // scratch contents must not matter
            int q = off * h3 + hd * d;
            k.attention(p.qkv(), q, q + h, q + 2 * h, h3, len, d, keys(mask, len), mask.equals("causal"), scale,
                    ctx, off * h + hd * d, h, buf);
        });
        return ctx;
    }

    @Test
    void referenceMatchesHandComputedValues() {
        // one head, d = 1, two tokens: q = (1, 2), k = (0, 1), v = (10, 20), scale 1
        float[] qkv = {1, 0, 10, 2, 1, 20};
        float[] ctx = new float[2];
        REF.attention(qkv, 0, 1, 2, 3, 2, 1, 2, false, 1f, ctx, 0, 1, new float[(int) REF.attentionScratch(2, 1)]);
        double p0 = 1 / (1 + Math.exp(-1)), p1 = 1 / (1 + Math.exp(-2)); // weight of key 1 for query 0 and 1
        assertEquals(10 + 10 * p0, ctx[0], 1e-5);
        assertEquals(10 + 10 * p1, ctx[1], 1e-5);
        // causal: the first query sees only itself
        REF.attention(qkv, 0, 1, 2, 3, 2, 1, 2, true, 1f, ctx, 0, 1, new float[2]);
        assertEquals(10, ctx[0], 1e-6);
        assertEquals(10 + 10 * p1, ctx[1], 1e-5);
        // one key: both queries get its value
        REF.attention(qkv, 0, 1, 2, 3, 2, 1, 1, false, 1f, ctx, 0, 1, new float[2]);
        assertArrayEquals(new float[] {10, 10}, ctx);
        // no keys: zeros
        REF.attention(qkv, 0, 1, 2, 3, 2, 1, 0, false, 1f, ctx, 0, 1, new float[2]);
        assertArrayEquals(new float[] {0, 0}, ctx);
    }

    /** The definition through the reference GEMM and softmax, with an additive mask per row. */
    @ParameterizedTest
    @ValueSource(strings = {"all", "padded", "causal"})
    void referenceMatchesGemmSoftmaxGemm(String mask) {
        Random r = new Random(7);
        for (int d : HEAD_SIZES) {
            Packed p = packed(r, d);
            int h = p.hidden(), h3 = 3 * h;
            float[] want = new float[p.tokens() * h];
            float scale = (float) (1 / Math.sqrt(d));
            for (int s = 0; s < LENS.length; s++) {
                int off = p.start()[s], len = LENS[s], keys = keys(mask, len);
                for (int hd = 0; hd < HEADS; hd++) {
                    int q = off * h3 + hd * d;
                    float[] scores = new float[len * len];
                    REF.gemm(false, true, len, len, d, 1f, p.qkv(), q, h3, p.qkv(), q + h, h3, 0f, scores, 0, len);
                    for (int i = 0; i < len; i++) {
                        float[] add = new float[len];
                        for (int j = 0; j < len; j++) {
                            boolean seen = j < keys && (!mask.equals("causal") || j <= i);
                            add[j] = seen ? 0f : Float.NEGATIVE_INFINITY;
                        }
                        REF.softmax(scores, i * len, 1, len, len, scale, add, 0);
                    }
                    REF.gemm(false, false, len, d, len, 1f, scores, 0, len, p.qkv(), q + 2 * h, h3, 0f,
                            want, off * h + hd * d, h);
                }
            }
            float[] got = run(REF, p, mask, 1);
            assertClose(want, got, null, 1e-6, 1e-7, want.length, "scalar attention d=" + d + " " + mask);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "onednn", "native"})
    void providersMatchScalar(String name) {
        Kernels k = KernelsTest.open(name, 2);
        opened.add(k);
        Random r = new Random(11);
        for (int d : HEAD_SIZES) {
            Packed p = packed(r, d);
            for (String mask : new String[] {"all", "padded", "causal", "empty"}) {
                float[] want = run(REF, p, mask, 1);
                for (int threads : new int[] {1, 4}) {
                    float[] got = run(k, p, mask, threads);
                    for (float v : got) assertTrue(Float.isFinite(v), name + ": an element was not written");
                    assertClose(want, got, null, 1e-5, 1e-6, want.length,
                            name + " attention d=" + d + " " + mask + " threads=" + threads);
                }
            }
        }
    }

    @Test
    void referenceWritesEveryElementAndIsThreadSafe() {
        Packed p = packed(new Random(3), 8);
        for (String mask : new String[] {"all", "padded", "causal", "empty"}) {
            float[] one = run(REF, p, mask, 1);
            for (float v : one) assertTrue(Float.isFinite(v));
            assertArrayEquals(one, run(REF, p, mask, 4), mask);
        }
    }
}
