package dev.xlmr.engine;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Pure Java Vector API kernels. Loaded only reflectively by {@link KernelProvider}, so that a JVM without
 * {@code --add-modules jdk.incubator.vector} never touches this class.
 *
 * <p>GEMM scheme (GotoBLAS-like): B (the weights) is packed once into panels of {@code NR = 2} vectors of
 * columns; the micro-kernel keeps a {@code 6 x NR} block of C in 12 vector registers and, per k, loads two B
 * vectors and broadcasts six A scalars (12 FMAs per 8 loads). Loops are blocked so that a {@code KC x NR} B
 * panel slice and an {@code MC x KC} A block stay in L2. Threads claim chunks of panels (or of rows when
 * there are too few panels).
 */
final class VectorKernels implements Kernels, Bf16Writer, Int8Rows {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, S.vectorShape());
    static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(S.length() * 8));
    static final VectorSpecies<Short> HS = VectorSpecies.of(short.class, VectorShape.forBitSize(S.length() * 16));
    static final int L = S.length();
    static final int NR = 2 * L;
    static final int MR = 6;
    /**
     * k-block. A KC x NR B slice (96 KiB at 768) is re-read from L2 by the MC/MR micro-kernels of a row block;
     * measured on Zen 5, 768 (all of BERT-base's k = 768 in one pass) beat 256 (an L1-sized slice) by 10-50%,
     * most for few rows, where long sequential panel reads matter more than L1 reuse.
     */
    static final int KC = Integer.getInteger("xlmr.vector.kc", 768);
    static final int MC = 96;    // MC x KC floats = 288 KiB: stays in L2 (1 MiB) next to the B slice
    /** Below this many multiply-adds a call stays on the calling thread (fork/join costs ~10-50 us). */
    static final long PARALLEL_MIN_FMAS = 1L << 20;

    private static final int F = 0, H = 1, Q = 2; // fp32, bf16, int8 B panels

    private final int threads;
    private final ForkJoinPool pool; // threads - 1 workers; the calling thread takes one share itself
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        float[] a = new float[0], b = new float[0];
    }

    VectorKernels(int threads) {
        this.threads = Math.max(1, threads);
        this.pool = this.threads > 1 ? new ForkJoinPool(this.threads - 1) : null;
    }

    @Override public String name() { return "vector"; }

    @Override public int threads() { return threads; }

    @Override
    public String description() {
        return "vector: Java Vector API, " + S.vectorBitSize() + "-bit, " + MR + "x" + NR + " micro-kernel, " + threads + " threads";
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
            try {
                pool.awaitTermination(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public Weights pack(float[] w, int out, int in, Precision precision) {
        return new PanelWeights(Weights.Rows.of(w, out, in), out, in, precision, NR, this);
    }

    @Override
    public Weights pack(MemorySegment w, int out, int in, Precision precision) {
        return new PanelWeights(Weights.Rows.of(w, out, in), out, in, precision, NR, this);
    }

    // ---------------------------------------------------------------- GEMM

    @Override
    public void linear(float[] x, int rows, int in, Weights w, float[] bias, float[] y, int out) {
        w.check(this, in, out);
        PanelWeights pw = (PanelWeights) w;
        if (rows <= 0) return;
        int kind = switch (pw.precision) { case FP32 -> F; case BF16 -> H; case INT8 -> Q; };
        drive(kind, x, 0, in, rows, in, pw.f32, pw.bf16, pw.i8, pw.panels, y, 0, out, out,
                1f, 0f, bias, pw.scales, threads);
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float beta, float[] c, int cOff, int ldc) {
        gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, threads);
    }

    @Override
    public void gemmSingleThread(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                 float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                 float beta, float[] c, int cOff, int ldc) {
        gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, 1);
    }

    private void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float beta, float[] c, int cOff, int ldc, int threads) {
        if (m <= 0 || n <= 0) return;
        if (k <= 0) {
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) c[cOff + i * ldc + j] = beta == 0 ? 0 : beta * c[cOff + i * ldc + j];
            return;
        }
        Scratch s = scratch.get();
        if (transA) { // the micro-kernel broadcasts along k of a row: transpose A once (m*k, small vs 2mnk)
            if (s.a.length < m * k) s.a = new float[m * k];
            // in 32 x 32 tiles: a column-at-a-time copy misses the cache on every write once m * k is large
            for (int p0 = 0; p0 < k; p0 += 32)
                for (int i0 = 0; i0 < m; i0 += 32)
                    for (int p = p0, pe = Math.min(k, p0 + 32); p < pe; p++)
                        for (int i = i0, ie = Math.min(m, i0 + 32); i < ie; i++) s.a[i * k + p] = a[aOff + p * lda + i];
            a = s.a;
            aOff = 0;
            lda = k;
        }
        int panels = (n + NR - 1) / NR;
        int size = panels * k * NR;
        if (s.b.length < size) s.b = new float[size];
        float[] pb = s.b;
        for (int p = 0; p < panels; p++) {
            int j0 = p * NR, cols = Math.min(NR, n - j0);
            for (int q = 0; q < k; q++) {
                int d = (p * k + q) * NR;
                if (transB) {
                    for (int j = 0; j < cols; j++) pb[d + j] = b[bOff + (j0 + j) * ldb + q];
                } else {
                    System.arraycopy(b, bOff + q * ldb + j0, pb, d, cols);
                }
                for (int j = cols; j < NR; j++) pb[d + j] = 0;
            }
        }
        drive(F, a, aOff, lda, m, k, pb, null, null, panels, c, cOff, ldc, n, alpha, beta, null, null, threads);
    }

    /**
     * Splits C into chunks of whole panels (or of MR-row blocks when there are too few panels) that the threads
     * claim from a shared counter: a thread the OS delays on a busy machine simply claims fewer chunks, instead
     * of holding back a static half. Each element of C is still computed by one chunk in a fixed order, so the
     * result does not depend on the thread count.
     */
    private void drive(int kind, float[] a, int aOff, int lda, int m, int k,
                       float[] bf, int[] bh, byte[] bq, int panels,
                       float[] c, int cOff, int ldc, int n, float alpha, float beta, float[] bias, float[] scales,
                       int threads) {
        int t = (long) m * n * k < PARALLEL_MIN_FMAS ? 1 : threads;
        if (t == 1) {
            block(kind, a, aOff, lda, 0, m, k, bf, bh, bq, 0, panels, c, cOff, ldc, n, alpha, beta, bias, scales);
            return;
        }
        boolean byPanels = panels >= 2 * t;
        int units = byPanels ? panels : (m + MR - 1) / MR;
        int per = Math.max(1, units / (4 * t)); // ~4 chunks per thread
        int chunks = (units + per - 1) / per;
        AtomicInteger next = new AtomicInteger();
        parallel(Math.min(t, chunks), ignored -> {
            for (int ch; (ch = next.getAndIncrement()) < chunks; ) {
                int u0 = ch * per, u1 = Math.min(units, u0 + per);
                if (byPanels) {
                    block(kind, a, aOff, lda, 0, m, k, bf, bh, bq, u0, u1, c, cOff, ldc, n, alpha, beta, bias, scales);
                } else {
                    block(kind, a, aOff, lda, u0 * MR, Math.min(m, u1 * MR), k, bf, bh, bq, 0, panels,
                            c, cOff, ldc, n, alpha, beta, bias, scales);
                }
            }
        });
    }

    private void parallel(int tasks, IntConsumer body) {
        ForkJoinTask<?>[] fs = new ForkJoinTask<?>[tasks];
        for (int i = 1; i < tasks; i++) {
            int ii = i;
            fs[i] = pool.submit(() -> body.accept(ii));
        }
        Throwable err = null;
        try {
            body.accept(0);
        } catch (Throwable e) {
            err = e;
        }
        for (int i = 1; i < tasks; i++) {
            try {
                fs[i].join();
            } catch (Throwable e) {
                if (err == null) err = e;
            }
        }
        if (err instanceof RuntimeException re) throw re;
        if (err instanceof Error er) throw er;
    }

    /** C rows [r0, r1) x panels [p0, p1), blocked over k (KC) and rows (MC). */
    private static void block(int kind, float[] a, int aOff, int lda, int r0, int r1, int k,
                              float[] bf, int[] bh, byte[] bq, int p0, int p1,
                              float[] c, int cOff, int ldc, int n, float alpha, float beta,
                              float[] bias, float[] scales) {
        float[] tile = new float[MR * NR]; // accumulators leave registers through this L1-resident tile
        for (int kk = 0; kk < k; kk += KC) {
            int kc = Math.min(KC, k - kk);
            boolean first = kk == 0;
            for (int ii = r0; ii < r1; ii += MC) {
                int iEnd = Math.min(ii + MC, r1);
                for (int p = p0; p < p1; p++) {
                    int j0 = p * NR, cols = Math.min(NR, n - j0);
                    for (int i = ii; i < iEnd; ) {
                        // 6-row blocks; a tail of up to 4 rows goes through the 2-row kernel, which wastes at
                        // most one row instead of up to five (rows = 1 is 3x cheaper this way)
                        int left = iEnd - i, rows = left >= 5 ? Math.min(MR, left) : Math.min(2, left);
                        int ai = aOff + i * lda + kk, ci = cOff + i * ldc + j0;
                        if (left >= 5) {
                            switch (kind) {
                                case F -> kernelF(a, ai, lda, rows, bf, (p * k + kk) * NR, kc, tile);
                                case H -> kernelH(a, ai, lda, rows, bh, (p * k + kk) * L, kc, tile);
                                default -> kernelF8(a, ai, lda, rows, bq, (p * k + kk) * NR, kc, tile);
                            }
                        } else {
                            kernel2(kind, a, ai, lda, rows, bf, bh, bq, (p * k + kk) * NR, kc, tile);
                        }
                        i += rows;
                        epilogue(tile, rows, c, ci, ldc, cols, first, alpha, beta, bias, j0,
                                kind == Q ? scales : null);
                    }
                }
            }
        }
    }

    // Micro-kernels. Rows past `rows` re-read the last valid row (harmless duplicate work, no extra code path)
    // and are not stored.

    private static void kernelF(float[] a, int a0, int lda, int rows, float[] b, int b0, int kc,
                                float[] tile) {
        int a1 = a0 + Math.min(1, rows - 1) * lda, a2 = a0 + Math.min(2, rows - 1) * lda;
        int a3 = a0 + Math.min(3, rows - 1) * lda, a4 = a0 + Math.min(4, rows - 1) * lda;
        int a5 = a0 + Math.min(5, rows - 1) * lda;
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int k = 0, bo = b0; k < kc; k++, bo += NR) {
            FloatVector w0 = FloatVector.fromArray(S, b, bo);
            FloatVector w1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector x = FloatVector.broadcast(S, a[a0 + k]);
            c00 = x.fma(w0, c00); c01 = x.fma(w1, c01);
            x = FloatVector.broadcast(S, a[a1 + k]);
            c10 = x.fma(w0, c10); c11 = x.fma(w1, c11);
            x = FloatVector.broadcast(S, a[a2 + k]);
            c20 = x.fma(w0, c20); c21 = x.fma(w1, c21);
            x = FloatVector.broadcast(S, a[a3 + k]);
            c30 = x.fma(w0, c30); c31 = x.fma(w1, c31);
            x = FloatVector.broadcast(S, a[a4 + k]);
            c40 = x.fma(w0, c40); c41 = x.fma(w1, c41);
            x = FloatVector.broadcast(S, a[a5 + k]);
            c50 = x.fma(w0, c50); c51 = x.fma(w1, c51);
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, L);
        c10.intoArray(tile, NR); c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR); c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR); c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR); c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR); c51.intoArray(tile, 5 * NR + L);
    }

    /** bf16 panel: one int vector holds both column vectors; widening is a shift / a mask (bf16 = top half of fp32). */
    private static void kernelH(float[] a, int a0, int lda, int rows, int[] b, int b0, int kc,
                                float[] tile) {
        int a1 = a0 + Math.min(1, rows - 1) * lda, a2 = a0 + Math.min(2, rows - 1) * lda;
        int a3 = a0 + Math.min(3, rows - 1) * lda, a4 = a0 + Math.min(4, rows - 1) * lda;
        int a5 = a0 + Math.min(5, rows - 1) * lda;
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int k = 0, bo = b0; k < kc; k++, bo += L) {
            IntVector h = IntVector.fromArray(IS, b, bo);
            FloatVector w0 = h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w1 = h.and(0xFFFF0000).reinterpretAsFloats();
            FloatVector x = FloatVector.broadcast(S, a[a0 + k]);
            c00 = x.fma(w0, c00); c01 = x.fma(w1, c01);
            x = FloatVector.broadcast(S, a[a1 + k]);
            c10 = x.fma(w0, c10); c11 = x.fma(w1, c11);
            x = FloatVector.broadcast(S, a[a2 + k]);
            c20 = x.fma(w0, c20); c21 = x.fma(w1, c21);
            x = FloatVector.broadcast(S, a[a3 + k]);
            c30 = x.fma(w0, c30); c31 = x.fma(w1, c31);
            x = FloatVector.broadcast(S, a[a4 + k]);
            c40 = x.fma(w0, c40); c41 = x.fma(w1, c41);
            x = FloatVector.broadcast(S, a[a5 + k]);
            c50 = x.fma(w0, c50); c51 = x.fma(w1, c51);
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, L);
        c10.intoArray(tile, NR); c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR); c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR); c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR); c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR); c51.intoArray(tile, 5 * NR + L);
    }

    /** int8 panel: bytes widened to fp32 in registers; the per-column scale is applied once in the epilogue. */
    private static void kernelF8(float[] a, int a0, int lda, int rows, byte[] b, int b0, int kc,
                                 float[] tile) {
        int a1 = a0 + Math.min(1, rows - 1) * lda, a2 = a0 + Math.min(2, rows - 1) * lda;
        int a3 = a0 + Math.min(3, rows - 1) * lda, a4 = a0 + Math.min(4, rows - 1) * lda;
        int a5 = a0 + Math.min(5, rows - 1) * lda;
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int k = 0, bo = b0; k < kc; k++, bo += NR) {
            FloatVector w0 = (FloatVector) ByteVector.fromArray(BS, b, bo).convertShape(VectorOperators.B2F, S, 0);
            FloatVector w1 = (FloatVector) ByteVector.fromArray(BS, b, bo + L).convertShape(VectorOperators.B2F, S, 0);
            FloatVector x = FloatVector.broadcast(S, a[a0 + k]);
            c00 = x.fma(w0, c00); c01 = x.fma(w1, c01);
            x = FloatVector.broadcast(S, a[a1 + k]);
            c10 = x.fma(w0, c10); c11 = x.fma(w1, c11);
            x = FloatVector.broadcast(S, a[a2 + k]);
            c20 = x.fma(w0, c20); c21 = x.fma(w1, c21);
            x = FloatVector.broadcast(S, a[a3 + k]);
            c30 = x.fma(w0, c30); c31 = x.fma(w1, c31);
            x = FloatVector.broadcast(S, a[a4 + k]);
            c40 = x.fma(w0, c40); c41 = x.fma(w1, c41);
            x = FloatVector.broadcast(S, a[a5 + k]);
            c50 = x.fma(w0, c50); c51 = x.fma(w1, c51);
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, L);
        c10.intoArray(tile, NR); c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR); c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR); c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR); c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR); c51.intoArray(tile, 5 * NR + L);
    }

    /** Two rows (the second a copy of the first when rows == 1), any panel kind: tails and tiny batches. */
    private static void kernel2(int kind, float[] a, int a0, int lda, int rows, float[] bf, int[] bh, byte[] bq,
                                int b0, int kc, float[] tile) {
        int a1 = a0 + Math.min(1, rows - 1) * lda;
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00;
        if (kind == F) {
            for (int k = 0, bo = b0; k < kc; k++, bo += NR) {
                FloatVector w0 = FloatVector.fromArray(S, bf, bo), w1 = FloatVector.fromArray(S, bf, bo + L);
                FloatVector x = FloatVector.broadcast(S, a[a0 + k]), z = FloatVector.broadcast(S, a[a1 + k]);
                c00 = x.fma(w0, c00); c01 = x.fma(w1, c01); c10 = z.fma(w0, c10); c11 = z.fma(w1, c11);
            }
        } else if (kind == H) {
            for (int k = 0, bo = b0 / 2; k < kc; k++, bo += L) {
                IntVector h = IntVector.fromArray(IS, bh, bo);
                FloatVector w0 = h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                FloatVector w1 = h.and(0xFFFF0000).reinterpretAsFloats();
                FloatVector x = FloatVector.broadcast(S, a[a0 + k]), z = FloatVector.broadcast(S, a[a1 + k]);
                c00 = x.fma(w0, c00); c01 = x.fma(w1, c01); c10 = z.fma(w0, c10); c11 = z.fma(w1, c11);
            }
        } else {
            for (int k = 0, bo = b0; k < kc; k++, bo += NR) {
                FloatVector w0 = (FloatVector) ByteVector.fromArray(BS, bq, bo).convertShape(VectorOperators.B2F, S, 0);
                FloatVector w1 = (FloatVector) ByteVector.fromArray(BS, bq, bo + L).convertShape(VectorOperators.B2F, S, 0);
                FloatVector x = FloatVector.broadcast(S, a[a0 + k]), z = FloatVector.broadcast(S, a[a1 + k]);
                c00 = x.fma(w0, c00); c01 = x.fma(w1, c01); c10 = z.fma(w0, c10); c11 = z.fma(w1, c11);
            }
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, L);
        c10.intoArray(tile, NR); c11.intoArray(tile, NR + L);
    }

    /**
     * Writes a {@code rows x cols} tile to C: per-column scale and alpha, then bias and beta (first k-block) or
     * accumulation (later ones). Kept out of the micro-kernels: C2 would not inline it there, and passing
     * vectors to a non-inlined method boxes them.
     */
    private static void epilogue(float[] tile, int rows, float[] c, int c0, int ldc, int cols, boolean first,
                                 float alpha, float beta, float[] bias, int j0, float[] scales) {
        for (int r = 0; r < rows; r++) {
            int ci = c0 + r * ldc;
            int j = 0;
            // whole vectors unmasked (masked loads and stores cost several times more on AVX2), the tail masked
            for (; j + L <= cols; j += L) {
                FloatVector v = FloatVector.fromArray(S, tile, r * NR + j);
                if (scales != null) v = v.mul(FloatVector.fromArray(S, scales, j0 + j));
                if (alpha != 1f) v = v.mul(alpha);
                if (first) {
                    if (bias != null) v = v.add(FloatVector.fromArray(S, bias, j0 + j));
                    if (beta != 0f) v = FloatVector.fromArray(S, c, ci + j).mul(beta).add(v);
                } else {
                    v = v.add(FloatVector.fromArray(S, c, ci + j));
                }
                v.intoArray(c, ci + j);
            }
            if (j < cols) {
                VectorMask<Float> m = S.indexInRange(j, cols);
                FloatVector v = FloatVector.fromArray(S, tile, r * NR + j);
                if (scales != null) v = v.mul(FloatVector.fromArray(S, scales, j0 + j)); // padded to whole panels
                if (alpha != 1f) v = v.mul(alpha);
                if (first) {
                    if (bias != null) v = v.add(FloatVector.fromArray(S, bias, j0 + j, m));
                    if (beta != 0f) v = FloatVector.fromArray(S, c, ci + j, m).mul(beta).add(v);
                } else {
                    v = v.add(FloatVector.fromArray(S, c, ci + j, m));
                }
                v.intoArray(c, ci + j, m);
            }
        }
    }

    // ---------------------------------------------------------------- bf16 rounding

    @Override
    public void toBf16(float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        if (n <= 0) return;
        java.util.Objects.checkFromIndexSize(srcOff, n, src.length);
        java.util.Objects.checkFromIndexSize(dstOff, 2L * n, dst.byteSize());
        int parts = n >= 1 << 18 && pool != null ? threads : 1; // memory-bound: only large blocks are split
        int chunk = ((n + parts - 1) / parts + L - 1) / L * L;
        parallel(parts, t -> {
            int from = Math.min(n, t * chunk), to = Math.min(n, from + chunk);
            toBf16Part(src, srcOff + from, to - from, dst, dstOff + 2L * from);
        });
    }

    private static void toBf16Part(float[] src, int off, int n, MemorySegment dst, long dstOff) {
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += L) {
            FloatVector v = FloatVector.fromArray(S, src, off + i);
            IntVector b = v.reinterpretAsInts();
            IntVector hi = b.lanewise(VectorOperators.LSHR, 16);
            IntVector r = b.add(hi.and(1)).add(0x7FFF).lanewise(VectorOperators.LSHR, 16);
            r = r.blend(hi.or(0x40), v.test(VectorOperators.IS_NAN).cast(IS));
            ((ShortVector) r.convertShape(VectorOperators.I2S, HS, 0))
                    .intoMemorySegment(dst, dstOff + 2L * i, ByteOrder.LITTLE_ENDIAN);
        }
        for (; i < n; i++) dst.set(Quant.BF16_LE, dstOff + 2L * i, Quant.toBf16(src[off + i]));
    }

    // ---------------------------------------------------------------- int8 rows (DnnlKernels' u8 x s8 matmul)

    /** Below this many elements the rows stay on the calling thread. */
    private static final int INT8_PARALLEL_MIN = 1 << 16;

    /** {@link ScalarKernels#quantizeRows} with vectors: the same bytes, scales and zero points. */
    @Override
    public void quantizeRows(float[] x, int rows, int n, int levels, float[] rowScale, int[] rowZero, MemorySegment dst) {
        if (rows <= 0 || n <= 0) return;
        java.util.Objects.checkFromIndexSize(0, (long) rows * n, x.length);
        java.util.Objects.checkFromIndexSize(0, (long) rows * n, dst.byteSize());
        int parts = (long) rows * n >= INT8_PARALLEL_MIN && pool != null ? Math.min(threads, rows) : 1;
        parallel(parts, t -> {
            for (int r = rows * t / parts, end = rows * (t + 1) / parts; r < end; r++) {
                quantizeRow(x, r, n, levels, rowScale, rowZero, dst);
            }
        });
    }

    private static void quantizeRow(float[] x, int r, int n, int levels, float[] rowScale, int[] rowZero, MemorySegment dst) {
        int off = r * n, i = 0, upper = S.loopBound(n);
        FloatVector lov = FloatVector.zero(S), hiv = lov;
        for (; i < upper; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, off + i);
            lov = lov.min(v);
            hiv = hiv.max(v);
        }
        float lo = lov.reduceLanes(VectorOperators.MIN), hi = hiv.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            lo = Math.min(lo, x[off + i]);
            hi = Math.max(hi, x[off + i]);
        }
        float scale = (hi - lo) / levels;
        long d = (long) r * n;
        if (!(scale > 0) || Float.isInfinite(scale)) { // as the reference: zeros, scale 0 or NaN
            dst.asSlice(d, n).fill((byte) 0);
            rowScale[r] = scale == 0 ? 0 : Float.NaN;
            rowZero[r] = 0;
            return;
        }
        float inv = 1 / scale;
        int z = Math.round(-lo * inv);
        float zf = z + 0.5f;
        // mul then add, as the reference (no fma); F2I truncates as a Java cast
        for (i = 0; i < upper; i += L) {
            IntVector q = (IntVector) FloatVector.fromArray(S, x, off + i).mul(inv).add(zf).convert(VectorOperators.F2I, 0);
            q.max(0).min(levels).convertShape(VectorOperators.I2B, BS, 0).intoMemorySegment(dst, d + i, ByteOrder.nativeOrder());
        }
        for (; i < n; i++) {
            int v = (int) (x[off + i] * inv + zf);
            dst.set(java.lang.foreign.ValueLayout.JAVA_BYTE, d + i, (byte) Math.max(0, Math.min(levels, v)));
        }
        rowScale[r] = scale;
        rowZero[r] = z;
    }

    /** {@link ScalarKernels#dequantize} with vectors: the same floats. */
    @Override
    public void dequantize(MemorySegment acc, int rows, int out, float[] rowScale, int[] rowZero, int[] sums, float[] ws,
                           float[] bias, float[] y) {
        if (rows <= 0 || out <= 0) return;
        java.util.Objects.checkFromIndexSize(0, (long) rows * out, y.length);
        java.util.Objects.checkFromIndexSize(0, 4L * rows * out, acc.byteSize());
        int parts = (long) rows * out >= INT8_PARALLEL_MIN && pool != null ? Math.min(threads, rows) : 1;
        parallel(parts, t -> {
            for (int r = rows * t / parts, end = rows * (t + 1) / parts; r < end; r++) {
                dequantizeRow(acc, r, out, rowScale[r], rowZero[r], sums, ws, bias, y);
            }
        });
    }

    private static void dequantizeRow(MemorySegment acc, int r, int out, float sr, int zr, int[] sums, float[] ws,
                                      float[] bias, float[] y) {
        int yo = r * out, o = 0;
        long ao = 4L * r * out;
        for (int upper = S.loopBound(out); o < upper; o += L) {
            IntVector a = IntVector.fromMemorySegment(IS, acc, ao + 4L * o, ByteOrder.nativeOrder());
            FloatVector f = (FloatVector) a.sub(IntVector.fromArray(IS, sums, o).mul(zr)).convert(VectorOperators.I2F, 0);
            FloatVector v = f.mul(FloatVector.fromArray(S, ws, o).mul(sr));
            if (bias != null) v = v.add(FloatVector.fromArray(S, bias, o));
            v.intoArray(y, yo + o);
        }
        for (; o < out; o++) {
            int a = acc.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, ao + 4L * o);
            float v = (a - zr * sums[o]) * (sr * ws[o]);
            y[yo + o] = bias == null ? v : v + bias[o];
        }
    }

    // ---------------------------------------------------------------- element-wise

    /** Exact GELU on one vector: x Phi(x), Phi the standard normal CDF ({@link VectorMath#normalCdf}). */
    static FloatVector gelu(FloatVector x) {
        return x.mul(VectorMath.normalCdf(x));
    }

    @Override
    public void biasGelu(float[] x, int rows, int cols, float[] bias) {
        if (rows <= 0) return;
        int t = (long) rows * cols < (1 << 16) ? 1 : Math.min(threads, rows);
        if (t == 1) biasGelu(x, 0, rows, cols, bias);
        else parallel(t, i -> biasGelu(x, rows * i / t, rows * (i + 1) / t, cols, bias));
    }

    private static void biasGelu(float[] x, int r0, int r1, int cols, float[] bias) {
        for (int r = r0; r < r1; r++) {
            int o = r * cols, j = 0;
            for (; j <= cols - L; j += L) {
                FloatVector v = FloatVector.fromArray(S, x, o + j);
                if (bias != null) v = v.add(FloatVector.fromArray(S, bias, j));
                gelu(v).intoArray(x, o + j);
            }
            if (j < cols) {
                VectorMask<Float> m = S.indexInRange(j, cols);
                FloatVector v = FloatVector.fromArray(S, x, o + j, m);
                if (bias != null) v = v.add(FloatVector.fromArray(S, bias, j, m));
                gelu(v).intoArray(x, o + j, m);
            }
        }
    }

    @Override
    public void residualLayerNorm(float[] x, float[] residual, int rows, int cols,
                                  float[] gamma, float[] beta, float eps, float[] out) {
        if (rows <= 0) return;
        int t = (long) rows * cols < (1 << 16) ? 1 : Math.min(threads, rows);
        if (t == 1) layerNorm(x, residual, 0, rows, cols, gamma, beta, eps, out);
        else parallel(t, i -> layerNorm(x, residual, rows * i / t, rows * (i + 1) / t, cols, gamma, beta, eps, out));
    }

    private static void layerNorm(float[] x, float[] res, int r0, int r1, int cols,
                                  float[] gamma, float[] beta, float eps, float[] out) {
        for (int r = r0; r < r1; r++) {
            int o = r * cols;
            FloatVector acc = FloatVector.zero(S);
            int j = 0;
            for (; j <= cols - L; j += L) {
                FloatVector v = FloatVector.fromArray(S, x, o + j);
                if (res != null) v = v.add(FloatVector.fromArray(S, res, o + j));
                v.intoArray(out, o + j);
                acc = acc.add(v);
            }
            float sum = VectorMath.sum(acc);
            for (; j < cols; j++) {
                float v = x[o + j] + (res == null ? 0f : res[o + j]);
                out[o + j] = v;
                sum += v;
            }
            float mean = sum / cols;
            // two-pass variance: no cancellation when |mean| >> stddev
            acc = FloatVector.zero(S);
            for (j = 0; j <= cols - L; j += L) {
                FloatVector d = FloatVector.fromArray(S, out, o + j).sub(mean);
                acc = d.fma(d, acc);
            }
            float var = VectorMath.sum(acc);
            for (; j < cols; j++) { float d = out[o + j] - mean; var += d * d; }
            float inv = (float) (1 / Math.sqrt(var / cols + eps));
            for (j = 0; j <= cols - L; j += L) {
                FloatVector v = FloatVector.fromArray(S, out, o + j).sub(mean).mul(inv);
                v.fma(FloatVector.fromArray(S, gamma, j), FloatVector.fromArray(S, beta, j)).intoArray(out, o + j);
            }
            for (; j < cols; j++) out[o + j] = (out[o + j] - mean) * inv * gamma[j] + beta[j];
        }
    }

    @Override
    public void attention(float[] qkv, int qOff, int kOff, int vOff, int ld, int len, int d, int keys, boolean causal,
                          float scale, float[] ctx, int cOff, int ldc, float[] scratch) {
        VectorAttention.attention(this, qkv, qOff, kOff, vOff, ld, len, d, keys, causal, scale, ctx, cOff, ldc, scratch);
    }

    @Override
    public long attentionScratch(int len, int d) {
        return VectorAttention.scratch(len, d);
    }

    @Override
    public void softmax(float[] x, int off, int rows, int cols, int ld, float scale, float[] mask, int maskOff) {
        for (int r = 0; r < rows; r++) {
            int o = off + r * ld;
            FloatVector mx = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int j = 0; j < cols; j += L) {
                VectorMask<Float> m = S.indexInRange(j, cols);
                FloatVector v = logits(x, o + j, scale, mask, maskOff + j, m);
                mx = mx.blend(mx.max(v), m);
            }
            float max = mx.reduceLanes(VectorOperators.MAX);
            if (max == Float.NEGATIVE_INFINITY) {
                java.util.Arrays.fill(x, o, o + cols, 0f);
                continue;
            }
            FloatVector acc = FloatVector.zero(S);
            for (int j = 0; j < cols; j += L) {
                VectorMask<Float> m = S.indexInRange(j, cols);
                FloatVector e = VectorMath.exp(logits(x, o + j, scale, mask, maskOff + j, m).sub(max));
                e.intoArray(x, o + j, m);
                acc = acc.add(e, m);
            }
            float inv = 1f / VectorMath.sum(acc);
            for (int j = 0; j < cols; j += L) {
                VectorMask<Float> m = S.indexInRange(j, cols);
                FloatVector.fromArray(S, x, o + j, m).mul(inv).intoArray(x, o + j, m);
            }
        }
    }

    private static FloatVector logits(float[] x, int i, float scale, float[] mask, int mi, VectorMask<Float> m) {
        FloatVector v = FloatVector.fromArray(S, x, i, m).mul(scale);
        return mask == null ? v : v.add(FloatVector.fromArray(S, mask, mi, m));
    }
}
