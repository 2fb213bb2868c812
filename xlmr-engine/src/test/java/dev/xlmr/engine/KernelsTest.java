package dev.xlmr.engine;

import static dev.xlmr.engine.TestData.abs;
import static dev.xlmr.engine.TestData.assertClose;
import static dev.xlmr.engine.TestData.cosine;
import static dev.xlmr.engine.TestData.gaussian;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every fast provider against {@link ScalarKernels}. Native tests skip when no OpenBLAS can be loaded. */
class KernelsTest {
    static final ScalarKernels REF = new ScalarKernels();
    static final int[] ROWS = {1, 3, 4, 17, 127};
    static final int[][] IN_OUT = {{1, 1}, {7, 33}, {33, 7}, {65, 65}, {769, 31}, {767, 97}, {257, 1}, {96, 768}};

    static Kernels open(String name, int threads) {
        assumeTrue(KernelProvider.isAvailable(name), name + " kernels not available here");
        Kernels k = KernelProvider.create(name, threads);
        assertEquals(name, k.name());
        return k;
    }

    private static final java.util.List<Kernels> opened = new java.util.ArrayList<>();

    static Kernels kernels(String name, int threads) {
        Kernels k = open(name, threads);
        opened.add(k);
        return k;
    }

    @AfterAll
    static void closeAll() {
        opened.forEach(Kernels::close);
    }

    /** y and |x| |W|^T, the scale of rounding error, by the reference. */
    static float[][] reference(float[] x, int rows, int in, float[] w, float[] bias, int out, Precision p) {
        float[] y = new float[rows * out], s = new float[rows * out];
        REF.linear(x, rows, in, REF.pack(w, out, in, p), bias, y, out);
        REF.linear(abs(x), rows, in, REF.pack(abs(w), out, in, p), bias == null ? null : abs(bias), s, out);
        return new float[][] {y, s};
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "onednn", "native"})
    void linearMatchesScalar(String name) {
        Kernels k1 = kernels(name, 1), k2 = kernels(name, 2);
        Random r = new Random(42);
        for (int[] io : IN_OUT) {
            int in = io[0], out = io[1];
            float[] w = gaussian(r, out * in, 0.05), bias = gaussian(r, out, 0.1);
            for (Precision p : Precision.values()) {
                Weights w1 = k1.pack(w, out, in, p), w2 = k2.pack(w, out, in, p);
                for (int rows : ROWS) {
                    float[] x = gaussian(r, rows * in, 1);
                    // oneDNN's bf16 matmul rounds the activations to bf16 too (then accumulates in fp32)
                    float[] xr = roundsToBf16(k1, p) ? roundedToBf16(x) : x;
                    for (float[] b : new float[][] {bias, null}) {
                        float[][] ref = reference(xr, rows, in, w, b, out, p);
                        float[] y1 = new float[rows * out], y2 = new float[rows * out];
                        Arrays.fill(y1, Float.NaN); // must be overwritten, not accumulated into
                        k1.linear(x, rows, in, w1, b, y1, out);
                        k2.linear(x, rows, in, w2, b, y2, out);
                        String what = name + " " + p + " rows=" + rows + " in=" + in + " out=" + out;
                        if (quantizesActivations(k1, p)) {
                            float[] tol = int8Tolerance(x, rows, in, w, out, ((DnnlKernels) k1).actLevels);
                            assertWithin(ref[0], y1, ref[1], tol, what);
                            assertWithin(ref[0], y2, ref[1], tol, what + " 2 threads");
                        } else {
                            assertClose(ref[0], y1, ref[1], 1e-5, 1e-6, rows * out, what);
                            assertClose(ref[0], y2, ref[1], 1e-5, 1e-6, rows * out, what + " 2 threads");
                        }
                    }
                }
            }
        }
    }

    /** Whether {@code k} rounds the activations to bf16 for bf16 weights (oneDNN's bf16 matmul). */
    static boolean roundsToBf16(Kernels k, Precision p) {
        return p == Precision.BF16 && k instanceof DnnlKernels d && d.bf16Matmul();
    }

    /** Whether {@code k} quantizes the activations to u8 for int8 weights (oneDNN's int8 matmul). */
    static boolean quantizesActivations(Kernels k, Precision p) {
        return p == Precision.INT8 && k instanceof DnnlKernels d && d.int8Matmul();
    }

    /**
     * The worst-case effect of quantizing each row of {@code x} to {@code levels} steps over
     * {@code [min(0, min x), max(0, max x)]} against int8 weights: half a step times {@code sum_k |W[o][k]|}
     * (the dequantized int8 weights, as the scalar reference uses them), per output.
     */
    static float[] int8Tolerance(float[] x, int rows, int in, float[] w, int out, int levels) {
        float[] ones = new float[in], absSum = new float[out], tol = new float[rows * out];
        Arrays.fill(ones, 1f);
        REF.linear(ones, 1, in, REF.pack(abs(w), out, in, Precision.INT8), null, absSum, out);
        for (int r = 0; r < rows; r++) {
            float lo = 0, hi = 0;
            for (int i = 0; i < in; i++) {
                lo = Math.min(lo, x[r * in + i]);
                hi = Math.max(hi, x[r * in + i]);
            }
            double halfStep = 0.5 * (hi - lo) / levels * 1.001; // 0.1%: the rounding of x / step itself
            for (int o = 0; o < out; o++) tol[r * out + o] = (float) (halfStep * absSum[o]);
        }
        return tol;
    }

    /** |want - got| <= tol + fp32 rounding (1e-5 of the magnitude scale) element-wise. */
    static void assertWithin(float[] want, float[] got, float[] scale, float[] tol, String what) {
        for (int i = 0; i < tol.length; i++) {
            double limit = tol[i] + 1e-5 * Math.abs(scale[i]) + 1e-6;
            assertTrue(Math.abs(want[i] - got[i]) <= limit, what + " at " + i + ": " + want[i] + " vs " + got[i]
                    + " (limit " + limit + ")");
        }
    }

    /** Every row policy, on odd row counts, against the reference; buckets and runtime rows bound the primitives. */
    @Test
    void onednnRowPoliciesMatchTheReference() {
        assumeTrue(KernelProvider.isAvailable("onednn"), "onednn kernels not available here");
        Random r = new Random(29);
        int in = 65, out = 97, inter = 131;
        float[] w = gaussian(r, out * in, 0.05), b = gaussian(r, out, 0.1);
        float[] up = gaussian(r, inter * in, 0.1), down = gaussian(r, in * inter, 0.1);
        float[] ub = gaussian(r, inter, 0.1), db = gaussian(r, in, 0.1);
        for (DnnlKernels.RowPolicy policy : DnnlKernels.RowPolicy.values()) {
            try (DnnlKernels k = new DnnlKernels(2, new ScalarKernels(), policy)) {
                for (Precision p : Precision.values()) {
                    Weights wk = k.pack(w, out, in, p), upk = k.pack(up, inter, in, p), downk = k.pack(down, in, inter, p);
                    for (int rows : new int[] {1, 3, 17, 127, 257, 3, 1}) { // again after the buffers grew
                        float[] x = gaussian(r, rows * in, 1);
                        float[][] ref = reference(roundsToBf16(k, p) ? roundedToBf16(x) : x, rows, in, w, b, out, p);
                        float[] y = new float[rows * out + 5];
                        Arrays.fill(y, Float.NaN);
                        k.linear(x, rows, in, wk, b, y, out);
                        String what = policy + " " + p + " rows=" + rows;
                        if (quantizesActivations(k, p)) {
                            assertWithin(ref[0], y, ref[1], int8Tolerance(x, rows, in, w, out, k.actLevels), what);
                        } else {
                            assertClose(ref[0], y, ref[1], 1e-5, 1e-6, rows * out, what);
                        }
                        for (int i = rows * out; i < y.length; i++) assertTrue(Float.isNaN(y[i]), what + ": wrote past the rows");
                        if (p == Precision.INT8) continue; // the feed-forward of int8 is linear, GELU, linear (above)
                        boolean rounds = roundsToBf16(k, p);
                        float[] mid = new float[rows * inter], want = new float[rows * in], got = new float[rows * in];
                        REF.linear(rounds ? roundedToBf16(x) : x, rows, in, REF.pack(up, inter, in, p), ub, mid, inter);
                        REF.biasGelu(mid, rows, inter, null);
                        REF.linear(rounds ? roundedToBf16(mid) : mid, rows, inter, REF.pack(down, in, inter, p), db, want, in);
                        k.geluFeedForward(x, rows, in, upk, ub, new float[rows * inter], inter, downk, db, got);
                        double cos = cosine(want, got, want.length);
                        assertTrue(p == Precision.FP32 ? maxRelative(want, got) <= 1e-4 : cos >= 0.99999,
                                what + " feed-forward: cosine " + cos + ", max relative " + maxRelative(want, got));
                    }
                }
                k.drain(); // fp32 repacked: one more set of primitives, for the blocked layout
                int before = k.primitives(), out2 = 41; // a shape not used above
                float[] y = new float[64 * out2];
                Weights wk = k.pack(gaussian(r, out2 * in, 0.05), out2, in, Precision.FP32);
                for (int rows = 1; rows <= 64; rows++) k.linear(gaussian(r, rows * in, 1), rows, in, wk, null, y, out2);
                k.drain();
                int made = k.primitives() - before;
                // 1..64 rows: 64 exact sizes, 8 buckets (8, 16, .., 64) for each layout, or one runtime primitive
                switch (policy) {
                    case EXACT -> assertTrue(made >= 64, policy + ": " + made + " primitives");
                    case BUCKET -> assertTrue(made <= 16, policy + ": " + made + " primitives");
                    case RUNTIME -> assertTrue(made <= 2, policy + ": " + made + " primitives");
                    case AUTO -> assertTrue(made <= 16, policy + ": " + made + " primitives");
                }
            }
        }
    }

    static double maxRelative(float[] want, float[] got) {
        double m = 0;
        for (int i = 0; i < want.length; i++) m = Math.max(m, Math.abs(want[i] - got[i]) / (1 + Math.abs(want[i])));
        return m;
    }

    @Test
    void bucketsAreIdempotentMonotoneAndTight() {
        int last = 0;
        for (int rows = 1; rows <= 70_000; rows++) {
            int b = DnnlKernels.bucket(rows);
            assertTrue(b >= rows && b >= last, "bucket(" + rows + ") = " + b);
            assertEquals(b, DnnlKernels.bucket(b), "bucket(bucket(" + rows + "))");
            assertTrue(b - rows < Math.max(8, Math.min(64, rows / 8 + 1)), "bucket(" + rows + ") = " + b + " pads too much");
            last = b;
        }
    }

    static float[] roundedToBf16(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = Quant.fromBf16(Quant.toBf16(x[i]));
        return y;
    }

    @Test
    void vectorBf16RoundingMatchesScalar() {
        Kernels v = kernels("vector", 2);
        Random r = new Random(13);
        float[] special = {0f, -0f, 1f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE,
                Float.MAX_VALUE, -Float.MAX_VALUE, Float.intBitsToFloat(0x3F808000), Float.intBitsToFloat(0x3F818000),
                Float.intBitsToFloat(0x3F80FFFF), Float.intBitsToFloat(0x7F7FFFFF), Float.intBitsToFloat(0x7F800001)};
        for (int n : new int[] {0, 1, 3, 15, 16, 17, 127, 1 << 18, (1 << 18) + 5}) {
            float[] x = gaussian(r, n + 3, 1e3);
            for (int i = 0; i < Math.min(n, special.length); i++) x[3 + i] = special[i];
            try (Arena a = Arena.ofShared()) {
                MemorySegment want = a.allocate(2L * n + 2), got = a.allocate(2L * n + 2);
                REF.toBf16(x, 3, n, want, 2);
                ((Bf16Writer) v).toBf16(x, 3, n, got, 2);
                assertEquals(-1L, want.mismatch(got), "n=" + n);
                for (int i = 0; i < n; i++) {
                    short h = want.get(Quant.BF16_LE, 2 + 2L * i);
                    assertEquals(Quant.toBf16(x[3 + i]), h, "element " + i);
                }
            }
        }
        assertEquals(Quant.toBf16(Float.intBitsToFloat(0x3F808000)), (short) 0x3F80); // tie: to even
        assertEquals(Quant.toBf16(Float.intBitsToFloat(0x3F818000)), (short) 0x3F82);
        assertTrue(Float.isNaN(Quant.fromBf16(Quant.toBf16(Float.intBitsToFloat(0x7F800001)))));
    }

    @Test
    void onednnPicksAJitImplementation() throws IOException {
        Kernels k = kernels("onednn", 2);
        Random r = new Random(17);
        float[] w = gaussian(r, 96 * 64, 0.05);
        String cpu = Files.exists(Path.of("/proc/cpuinfo")) ? Files.readString(Path.of("/proc/cpuinfo")) : "";
        for (Precision p : Precision.values()) {
            if (p == Precision.INT8 && !((DnnlKernels) k).int8Matmul()) continue;
            for (int rows : new int[] {1, 17, 1000}) {
                String impl = ((DnnlKernels) k).implementation(k.pack(w, 96, 64, p), rows);
                assertTrue(!impl.startsWith("ref"), p + " x" + rows + " runs on oneDNN's reference implementation: " + impl);
                if (p == Precision.BF16 && (cpu.contains("avx512_bf16") || cpu.contains("amx_bf16"))) {
                    assertTrue(impl.contains("bf16"), "bf16 matmul should use the CPU's bf16 instructions: " + impl);
                }
            }
        }
    }

    /**
     * FP32 weights from native memory are used in place when packed and copied into oneDNN's blocked layout in the
     * background; every matmul runs on that copy, so the first call after packing (before the background made the
     * copy, or while it does) gives the same bits as calls after it. Odd shapes and row counts: one row is a gemv
     * on AVX2, which sums the plain and the blocked layout in different orders.
     */
    @Test
    void onednnFp32ResultsDoNotDependOnWhenTheWeightsWereRepacked() {
        assumeTrue(KernelProvider.isAvailable("onednn"), "onednn kernels not available here");
        Random r = new Random(19);
        int[][] shapes = {{769, 97}, {7, 33}, {767, 97}, {96, 768}};
        for (int[] shape : shapes) {
            int in = shape[0], out = shape[1], inter = 131;
            float[] w = gaussian(r, out * in, 0.05), b = gaussian(r, out, 0.1);
            float[] up = gaussian(r, inter * in, 0.1), down = gaussian(r, in * inter, 0.1);
            for (int rows : new int[] {1, 3, 17, 127}) {
                String what = in + "x" + out + " rows=" + rows;
                float[] x = gaussian(r, rows * in, 1);
                float[][] ref = reference(x, rows, in, w, b, out, Precision.FP32);
                try (Arena arena = Arena.ofShared(); DnnlKernels k = new DnnlKernels(2, new ScalarKernels())) {
                    MemorySegment seg = arena.allocate(4L * out * in), upSeg = arena.allocate(4L * inter * in),
                            downSeg = arena.allocate(4L * in * inter);
                    MemorySegment.copy(w, 0, seg, Weights.F32, 0, w.length);
                    MemorySegment.copy(up, 0, upSeg, Weights.F32, 0, up.length);
                    MemorySegment.copy(down, 0, downSeg, Weights.F32, 0, down.length);
                    DnnlWeights dw = (DnnlWeights) k.pack(seg, out, in, Precision.FP32);
                    Weights upk = k.pack(upSeg, inter, in, Precision.FP32), downk = k.pack(downSeg, in, inter, Precision.FP32);
                    assertTrue(dw.plain.data().equals(seg), what + ": fp32 from native memory is used in place");
                    float[] first = new float[rows * out], again = new float[rows * out];
                    float[] ffFirst = new float[rows * in], ffAgain = new float[rows * in], mid = new float[rows * inter];
                    k.linear(x, rows, in, dw, b, first, out); // right after packing
                    k.geluFeedForward(x, rows, in, upk, null, mid, inter, downk, null, ffFirst);
                    k.drain();
                    assertTrue(dw.current.packed(), what + ": repacked");
                    k.linear(x, rows, in, dw, b, again, out);
                    k.geluFeedForward(x, rows, in, upk, null, mid, inter, downk, null, ffAgain);
                    assertClose(ref[0], first, ref[1], 1e-5, 1e-6, rows * out, what);
                    for (int i = 0; i < first.length; i++) {
                        assertEquals(Float.floatToRawIntBits(first[i]), Float.floatToRawIntBits(again[i]),
                                what + ": linear at " + i + ": " + first[i] + " then " + again[i]);
                    }
                    for (int i = 0; i < ffFirst.length; i++) {
                        assertEquals(Float.floatToRawIntBits(ffFirst[i]), Float.floatToRawIntBits(ffAgain[i]),
                                what + ": feed-forward at " + i + ": " + ffFirst[i] + " then " + ffAgain[i]);
                    }
                    assertEquals(w[5 * in + 6], dw.get(5, 6), what); // rows still read from the plain form
                }
            }
        }
    }

    /** Mapped fp32 weights leave memory once repacked; reading them back faults in the file's (unchanged) pages. */
    @Test
    void onednnMappedWeightsReadBackAfterTheirPagesAreDropped(@TempDir Path dir) throws Exception {
        Kernels k = kernels("onednn", 2);
        Random r = new Random(31);
        int rows = 3, in = 1031, out = 67; // spans pages, starts and ends inside them
        float[] w = gaussian(r, out * in, 0.05), x = gaussian(r, rows * in, 1);
        Path file = dir.resolve("w.bin");
        try (Arena arena = Arena.ofShared()) {
            MemorySegment heap = MemorySegment.ofArray(new byte[4 * out * in + 12]);
            MemorySegment.copy(w, 0, heap, Weights.F32, 12, w.length);
            Files.write(file, heap.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            MemorySegment mapped;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena).asSlice(12);
            }
            DnnlWeights dw = (DnnlWeights) k.pack(mapped, out, in, Precision.FP32);
            float[] before = new float[rows * out], after = new float[rows * out];
            k.linear(x, rows, in, dw, null, before, out);
            k.drain(); // repacked, pages dropped
            assertTrue(dw.current.packed());
            k.linear(x, rows, in, dw, null, after, out);
            float[][] ref = reference(x, rows, in, w, null, out, Precision.FP32);
            assertClose(ref[0], after, ref[1], 1e-5, 1e-6, rows * out, "repacked");
            for (int o : new int[] {0, 31, out - 1}) {
                for (int i : new int[] {0, 500, in - 1}) assertEquals(w[o * in + i], dw.get(o, i), o + "," + i);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "onednn", "native"})
    void geluFeedForwardMatchesScalar(String name) {
        Kernels k = kernels(name, 2);
        Random r = new Random(23);
        for (int[] shape : new int[][] {{1, 7, 33}, {17, 65, 127}, {127, 96, 384}}) {
            int rows = shape[0], in = shape[1], inter = shape[2];
            float[] up = gaussian(r, inter * in, 0.1), down = gaussian(r, in * inter, 0.1);
            float[] ub = gaussian(r, inter, 0.1), db = gaussian(r, in, 0.1), x = gaussian(r, rows * in, 1);
            for (Precision p : new Precision[] {Precision.FP32, Precision.BF16}) {
                boolean rounds = roundsToBf16(k, p); // activations rounded too
                float[] mid = new float[rows * inter], want = new float[rows * in];
                REF.linear(rounds ? roundedToBf16(x) : x, rows, in, REF.pack(up, inter, in, p), ub, mid, inter);
                REF.biasGelu(mid, rows, inter, null);
                REF.linear(rounds ? roundedToBf16(mid) : mid, rows, inter, REF.pack(down, in, inter, p), db, want, in);
                float[] got = new float[rows * in];
                Arrays.fill(got, Float.NaN);
                k.geluFeedForward(x, rows, in, k.pack(up, inter, in, p), ub, new float[rows * inter], inter,
                        k.pack(down, in, inter, p), db, got);
                String what = name + " " + p + " " + Arrays.toString(shape);
                if (p == Precision.FP32) {
                    for (int i = 0; i < want.length; i++) {
                        assertTrue(Math.abs(want[i] - got[i]) <= 1e-4 * (1 + Math.abs(want[i])),
                                what + " at " + i + ": " + want[i] + " vs " + got[i]);
                    }
                } else { // a GELU output on a bf16 rounding boundary may round either way: compare directions
                    assertTrue(cosine(want, got, want.length) >= 0.99999, what + " cosine " + cosine(want, got, want.length));
                }
            }
        }
    }

    @Test
    void vectorThreadsGiveIdenticalResults() {
        Kernels k1 = kernels("vector", 1), k2 = kernels("vector", 2);
        Random r = new Random(7);
        for (int[] s : new int[][] {{127, 769, 97}, {1024, 768, 96}, {5, 768, 3072}}) {
            int rows = s[0], in = s[1], out = s[2];
            float[] w = gaussian(r, out * in, 0.05), x = gaussian(r, rows * in, 1), b = gaussian(r, out, 1);
            float[] y1 = new float[rows * out], y2 = new float[rows * out];
            k1.linear(x, rows, in, k1.pack(w, out, in, Precision.FP32), b, y1, out);
            k2.linear(x, rows, in, k2.pack(w, out, in, Precision.FP32), b, y2, out);
            assertArrayEquals(y1, y2); // each element is computed the same way whichever thread owns it
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "onednn", "native"})
    void gemmAllTranspositionsMatchScalar(String name) {
        Kernels k = kernels(name, 2);
        Random r = new Random(3);
        int[][] shapes = {{1, 1, 1}, {3, 7, 65}, {17, 33, 64}, {127, 127, 64}, {128, 64, 128}, {5, 300, 513}, {3, 2, 0},
            {301, 259, 517}}; // the last over DnnlKernels.SGEMM_MIN_MACS: oneDNN's sgemm
        assertTrue(301L * 259 * 517 >= DnnlKernels.SGEMM_MIN_MACS);
        for (int[] s : shapes) {
            int m = s[0], n = s[1], kk = s[2];
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                int aRows = ta ? kk : m, aCols = ta ? m : kk, bRows = tb ? n : kk, bCols = tb ? kk : n;
                int lda = aCols + 3, ldb = bCols + 5, ldc = n + 2, aOff = 4, bOff = 1, cOff = 6;
                float[] a = gaussian(r, aOff + aRows * lda, 1), b = gaussian(r, bOff + bRows * ldb, 1);
                float[] c0 = gaussian(r, cOff + m * ldc, 1);
                for (float[] ab : new float[][] {{1f, 0f}, {0.125f, 0.5f}}) {
                    float alpha = ab[0], beta = ab[1];
                    float[] want = c0.clone(), got = c0.clone(), scale = c0.clone();
                    if (beta == 0) Arrays.fill(got, cOff, got.length, Float.NaN); // beta == 0: C must not be read
                    REF.gemm(ta, tb, m, n, kk, alpha, a, aOff, lda, b, bOff, ldb, beta, want, cOff, ldc);
                    REF.gemm(ta, tb, m, n, kk, Math.abs(alpha), abs(a), aOff, lda, abs(b), bOff, ldb, beta, scale, cOff, ldc);
                    float[] single = got.clone();
                    k.gemm(ta, tb, m, n, kk, alpha, a, aOff, lda, b, bOff, ldb, beta, got, cOff, ldc);
                    k.gemmSingleThread(ta, tb, m, n, kk, alpha, a, aOff, lda, b, bOff, ldb, beta, single, cOff, ldc);
                    if (name.equals("vector")) {
                        assertArrayEquals(got, single, "vector gemmSingleThread " + Arrays.toString(s)); // bit for bit
                    }
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++) {
                            int ci = cOff + i * ldc + j;
                            double tol = 1e-5 * Math.abs(scale[ci]) + 1e-5;
                            assertTrue(Math.abs(want[ci] - got[ci]) <= tol, name + " gemm " + Arrays.toString(s)
                                    + " ta=" + ta + " tb=" + tb + " alpha=" + alpha + " at " + i + "," + j
                                    + ": " + want[ci] + " vs " + got[ci]);
                            assertTrue(Math.abs(want[ci] - single[ci]) <= tol, name + " gemmSingleThread "
                                    + Arrays.toString(s) + " ta=" + ta + " tb=" + tb + " at " + i + "," + j
                                    + ": " + want[ci] + " vs " + single[ci]);
                        }
                    // padding between rows (j >= n) and before cOff is untouched
                    for (int i = 0; i < m; i++)
                        for (int j = n; j < ldc && cOff + i * ldc + j < got.length; j++)
                            if (beta != 0) assertEquals(c0[cOff + i * ldc + j], got[cOff + i * ldc + j]);
                    for (int i = 0; i < cOff; i++) assertEquals(c0[i], got[i]);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "onednn", "native"})
    void reducedPrecisionIsCloseToFp32(String name) {
        Kernels k = kernels(name, 2);
        Random r = new Random(11);
        int rows = 64, in = 768;
        for (int out : new int[] {768, 3072}) {
            // realistic scales: LayerNorm-ed activations, BERT-like weights (sd 0.02 .. 0.05) with a few outliers
            float[] w = gaussian(r, out * in, 0.03);
            for (int i = 0; i < w.length; i += 997) w[i] *= 8;
            float[] x = gaussian(r, rows * in, 1), b = gaussian(r, out, 0.02);
            float[] ref = new float[rows * out];
            k.linear(x, rows, in, k.pack(w, out, in, Precision.FP32), b, ref, out);
            for (Precision p : new Precision[] {Precision.BF16, Precision.INT8}) {
                float[] y = new float[rows * out];
                k.linear(x, rows, in, k.pack(w, out, in, p), b, y, out);
                double cos = cosine(ref, y, y.length);
                assertTrue(cos >= 0.999, name + " " + p + " cosine " + cos);
                for (int row = 0; row < rows; row++) {
                    double c = cosine(Arrays.copyOfRange(ref, row * out, row * out + out),
                            Arrays.copyOfRange(y, row * out, row * out + out), out);
                    assertTrue(c >= 0.999, name + " " + p + " row " + row + " cosine " + c);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"scalar", "vector", "onednn", "native"})
    void weightsFromSegmentsEqualWeightsFromArrays(String name, @TempDir Path dir) throws IOException {
        Kernels k = name.equals("scalar") ? REF : kernels(name, 2);
        Random r = new Random(5);
        int rows = 17, in = 65, out = 97;
        float[] w = gaussian(r, out * in, 0.05), x = gaussian(r, rows * in, 1), b = gaussian(r, out, 0.1);
        Path file = dir.resolve("w.bin");
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(4L * out * in + 4, 8).asSlice(4); // unaligned for floats' sake
            MemorySegment.copy(w, 0, seg, Weights.F32, 0, w.length);
            Files.write(file, seg.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            MemorySegment mapped;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
            assertTrue(mapped.isReadOnly());
            for (Precision p : Precision.values()) {
                float[] want = new float[rows * out];
                k.linear(x, rows, in, k.pack(w, out, in, p), b, want, out);
                for (MemorySegment s : new MemorySegment[] {seg, mapped, MemorySegment.ofArray(w)}) {
                    float[] got = new float[rows * out];
                    Weights ws = k.pack(s, out, in, p);
                    k.linear(x, rows, in, ws, b, got, out);
                    assertArrayEquals(want, got, name + " " + p + " " + s);
                    assertEquals(p == Precision.FP32 ? w[3 * in + 5] : ws.get(3, 5), ws.get(3, 5));
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "onednn", "native"})
    void biasGeluMatchesScalar(String name) {
        Kernels k = kernels(name, 2);
        Random r = new Random(9);
        for (int[] s : new int[][] {{1, 1}, {3, 17}, {17, 33}, {127, 3072}}) {
            int rows = s[0], cols = s[1];
            float[] x = gaussian(r, rows * cols, 3), b = gaussian(r, cols, 0.5);
            float[] want = x.clone(), got = x.clone();
            REF.biasGelu(want, rows, cols, b);
            k.biasGelu(got, rows, cols, b);
            for (int i = 0; i < x.length; i++) assertGelu(x[i] + b[i % cols], want[i], got[i], name);
        }
        // a dense sweep through both approximation ranges and the tails
        int n = 40001;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -20f + 40f * i / (n - 1);
        float[] want = x.clone(), got = x.clone();
        REF.biasGelu(want, 1, n, null);
        k.biasGelu(got, 1, n, null);
        for (int i = 0; i < n; i++) assertGelu(x[i], want[i], got[i], name);
    }

    /**
     * fp32 GELU error: a few ulp of the result, plus the absolute error of evaluating 1 + erf(x / sqrt 2) in
     * float (about 3e-7 of |x| where the two terms nearly cancel, x in [-3, -1]).
     */
    static void assertGelu(double x, float want, float got, String name) {
        double err = Math.abs(want - got);
        assertTrue(err <= 2e-6 * Math.abs(want) + 3e-7 * Math.abs(x), name + " gelu(" + x + ") want " + want + " got " + got);
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "onednn", "native"})
    void residualLayerNormMatchesScalar(String name) {
        Kernels k = kernels(name, 2);
        Random r = new Random(13);
        for (int[] s : new int[][] {{1, 1}, {3, 7}, {17, 33}, {127, 768}, {128, 1024}}) {
            int rows = s[0], cols = s[1];
            float[] x = gaussian(r, rows * cols, 2), res = gaussian(r, rows * cols, 1);
            for (int i = 0; i < x.length; i++) x[i] += 3; // an offset mean, as in real hidden states
            float[] g = gaussian(r, cols, 1), b = gaussian(r, cols, 1);
            float[] want = new float[x.length], got = new float[x.length];
            REF.residualLayerNorm(x, res, rows, cols, g, b, 1e-5f, want);
            k.residualLayerNorm(x, res, rows, cols, g, b, 1e-5f, got);
            assertClose(want, got, null, 1e-5, 1e-5, x.length, name + " layernorm " + rows + "x" + cols);
            float[] inPlace = x.clone();
            k.residualLayerNorm(inPlace, res, rows, cols, g, b, 1e-5f, inPlace);
            // Same kernel, output aliasing the input. Not bit for bit: the Vector API leaves the order of
            // reduceLanes(ADD) unspecified, and it changes when the JIT compiles the method between calls.
            assertClose(got, inPlace, null, 1e-5, 1e-5, x.length, name + " out aliasing x");
            REF.residualLayerNorm(x, null, rows, cols, g, b, 1e-12f, want);
            k.residualLayerNorm(x, null, rows, cols, g, b, 1e-12f, got);
            assertClose(want, got, null, 1e-5, 1e-5, x.length, name + " layernorm no residual");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "onednn", "native"})
    void maskedSoftmaxMatchesScalar(String name) {
        Kernels k = kernels(name, 1);
        Random r = new Random(17);
        for (int cols : new int[] {1, 7, 16, 17, 33, 127, 512}) {
            int rows = 5, ld = cols + 3, off = 2;
            float[] x = gaussian(r, off + rows * ld, 4);
            float[] mask = new float[cols + 1];
            for (int j = 0; j < cols; j++) mask[j + 1] = j % 3 == 2 ? Float.NEGATIVE_INFINITY : (j % 5 == 4 ? -10000f : 0f);
            for (float[] m : new float[][] {null, mask}) {
                float[] want = x.clone(), got = x.clone();
                REF.softmax(want, off, rows, cols, ld, 0.125f, m, 1);
                k.softmax(got, off, rows, cols, ld, 0.125f, m, 1);
                assertClose(want, got, null, 1e-5, 1e-7, want.length, name + " softmax cols=" + cols);
                for (int row = 0; row < rows; row++) {
                    double sum = 0;
                    for (int j = 0; j < cols; j++) sum += got[off + row * ld + j];
                    assertEquals(1.0, sum, 1e-5);
                    if (m != null) for (int j = 2; j < cols; j += 3) assertEquals(0f, got[off + row * ld + j]);
                }
                // the gaps between rows are untouched
                for (int row = 0; row < rows; row++)
                    for (int j = cols; j < ld && off + row * ld + j < x.length; j++)
                        assertEquals(x[off + row * ld + j], got[off + row * ld + j]);
            }
        }
        float[] allMasked = {1, 2, 3};
        k.softmax(allMasked, 0, 1, 3, 3, 1f, new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY,
                Float.NEGATIVE_INFINITY}, 0);
        assertArrayEquals(new float[3], allMasked);
    }

    @Test
    void weightsAreCheckedAgainstTheirProviderAndShape() {
        Kernels v = kernels("vector", 1);
        Weights w = REF.pack(new float[6], 2, 3, Precision.FP32);
        assertThrows(IllegalArgumentException.class, () -> v.linear(new float[3], 1, 3, w, null, new float[2], 2));
        assertThrows(IllegalArgumentException.class, () -> REF.linear(new float[2], 1, 2, w, null, new float[3], 3));
        assertThrows(IllegalArgumentException.class, () -> REF.pack(new float[5], 2, 3, Precision.FP32));
    }
}
