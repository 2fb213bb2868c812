package dev.xlmr.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The Vector API's {@link Int8Rows} (quantizing activations and dequantizing int32 sums for oneDNN's int8 matmul)
 * against the plain reference in {@link ScalarKernels}: the same bytes, scales, zero points and floats, bit for bit,
 * on odd sizes (vector tails), one thread and split over two, with the rows the reference treats specially.
 */
class Int8RowsTest {
    static final int[] ROWS = {1, 3, 17, 130};
    static final int[] COLS = {1, 7, 8, 9, 31, 769, 3072};

    static Int8Rows vector(int threads) {
        assumeTrue(KernelProvider.isAvailable("vector"), "vector kernels not available here");
        return (Int8Rows) KernelProvider.create("vector", threads);
    }

    /** Gaussian rows, then a zero row, an all-negative, an all-positive, one with a NaN, one with an infinity. */
    static float[] activations(int rows, int n, Random rnd) {
        float[] x = new float[rows * n];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * 3);
        for (int r = 1; r < rows; r++) {
            int o = r * n;
            switch (r % 6) {
                case 1 -> java.util.Arrays.fill(x, o, o + n, 0f);
                case 2 -> { for (int i = 0; i < n; i++) x[o + i] = -Math.abs(x[o + i]) - 0.5f; }
                case 3 -> { for (int i = 0; i < n; i++) x[o + i] = Math.abs(x[o + i]) * 1e4f; }
                case 4 -> x[o + n / 2] = Float.NaN;
                case 5 -> x[o + n - 1] = Float.POSITIVE_INFINITY;
                default -> { }
            }
        }
        return x;
    }

    @Test
    void quantizeRowsMatchesTheReference() {
        ScalarKernels ref = new ScalarKernels();
        Random rnd = new Random(11);
        for (int threads : new int[] {1, 2}) {
            try (Arena arena = Arena.ofShared(); Kernels k = (Kernels) vector(threads)) {
                Int8Rows v = (Int8Rows) k;
                for (int levels : new int[] {127, 255}) {
                    for (int rows : ROWS) {
                        for (int n : COLS) {
                            float[] x = activations(rows, n, rnd);
                            MemorySegment a = arena.allocate((long) rows * n), b = arena.allocate((long) rows * n);
                            b.fill((byte) 7); // stale bytes must be overwritten, the zero rows' too
                            float[] sa = new float[rows], sb = new float[rows];
                            int[] za = new int[rows], zb = new int[rows];
                            ref.quantizeRows(x, rows, n, levels, sa, za, a);
                            v.quantizeRows(x, rows, n, levels, sb, zb, b);
                            String what = rows + "x" + n + " levels " + levels + " threads " + threads;
                            for (int r = 0; r < rows; r++) {
                                assertEquals(Float.floatToIntBits(sa[r]), Float.floatToIntBits(sb[r]), what + " scale row " + r);
                                assertEquals(za[r], zb[r], what + " zero point row " + r);
                            }
                            assertEquals(-1L, a.mismatch(b), what + " bytes");
                            if (rows > 1) assertEquals(0f, sa[1], what + ": a zero row has scale 0");
                            if (rows > 4) assertTrue(Float.isNaN(sa[4]), what + ": a NaN row has scale NaN");
                        }
                    }
                }
            }
        }
    }

    @Test
    void dequantizeMatchesTheReference() {
        ScalarKernels ref = new ScalarKernels();
        Random rnd = new Random(12);
        for (int threads : new int[] {1, 2}) {
            try (Arena arena = Arena.ofShared(); Kernels k = (Kernels) vector(threads)) {
                Int8Rows v = (Int8Rows) k;
                for (int rows : ROWS) {
                    for (int out : COLS) {
                        MemorySegment acc = arena.allocate(4L * rows * out, 4);
                        for (long i = 0; i < (long) rows * out; i++) acc.setAtIndex(ValueLayout.JAVA_INT, i, rnd.nextInt(2_000_001) - 1_000_000);
                        float[] rs = new float[rows], ws = new float[out], bias = new float[out];
                        int[] rz = new int[rows], sums = new int[out];
                        for (int r = 0; r < rows; r++) {
                            rs[r] = r == 2 ? Float.NaN : r == 1 ? 0f : (float) (rnd.nextDouble() * 0.05);
                            rz[r] = rnd.nextInt(256);
                        }
                        for (int o = 0; o < out; o++) {
                            ws[o] = (float) (rnd.nextDouble() * 0.01);
                            sums[o] = rnd.nextInt(40_001) - 20_000;
                            bias[o] = (float) rnd.nextGaussian();
                        }
                        for (float[] b : new float[][] {null, bias}) {
                            float[] ya = new float[rows * out], yb = new float[rows * out];
                            ref.dequantize(acc, rows, out, rs, rz, sums, ws, b, ya);
                            v.dequantize(acc, rows, out, rs, rz, sums, ws, b, yb);
                            String what = rows + "x" + out + (b == null ? "" : " with bias") + " threads " + threads;
                            for (int i = 0; i < ya.length; i++) {
                                assertEquals(Float.floatToIntBits(ya[i]), Float.floatToIntBits(yb[i]), what + " at " + i);
                            }
                        }
                    }
                }
            }
        }
    }
}
