package dev.xlmr.engine;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The two small products of one (sequence, head) of self-attention with the Java Vector API:
 * {@code scores = Q K^T} and {@code ctx = P V}, {@code len x len x headSize} each, too small for a GEMM
 * (packing and blocking cost more than the product). Used only by {@link VectorKernels#attention}, so a
 * JVM without {@code --add-modules jdk.incubator.vector} never touches it.
 *
 * <p>Scores are stored with a row stride {@link #stride} = len rounded up to a vector, so that rows are
 * whole vectors; the columns past {@code len} hold zeros and are never read by the softmax. Each
 * micro-kernel is its own small method with one loop: C1 gives up on methods with many live vectors
 * ("out of virtual registers"), and a Vector API method stuck in C1 code boxes every vector.
 */
final class VectorAttention {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private VectorAttention() {}

    /**
     * {@link Kernels#attention} with these products and {@code k}'s softmax; {@code buf} holds
     * {@link #scratch} floats.
     */
    static void attention(Kernels k, float[] qkv, int qOff, int kOff, int vOff, int ld, int len, int d, int keys,
                          boolean causal, float scale, float[] ctx, int cOff, int ldc, float[] buf) {
        scores(qkv, qOff, kOff, ld, len, d, buf);
        int lp = stride(len);
        if (causal) {
            for (int i = 0; i < len; i++) {
                int cols = Math.min(i + 1, keys);
                k.softmax(buf, i * lp, 1, cols, lp, scale, null, 0);
                java.util.Arrays.fill(buf, i * lp + cols, i * lp + len, 0f);
            }
        } else {
            k.softmax(buf, 0, len, keys, lp, scale, null, 0);
            if (keys < len) {
                // query-only positions: zero weight on them, as context reads all len columns
                for (int i = 0; i < len; i++) {
                    java.util.Arrays.fill(buf, i * lp + keys, i * lp + len, 0f);
                }
            }
        }
        context(buf, qkv, vOff, ld, len, d, ctx, cOff, ldc);
    }

    /** Scratch floats for {@link #attention}: the scores, then K^T, both with rows of {@link #stride} floats. */
    static long scratch(int len, int d) {
        return (long) stride(len) * (len + d);
    }

    static int stride(int len) {
        return (len + L - 1) / L * L;
    }

    /** {@code buf[0, len * stride) = Q K^T}; K^T is staged after it. */
    static void scores(float[] qkv, int qOff, int kOff, int ld, int len, int d, float[] buf) {
        int lp = stride(len);
        int kt = len * lp; // K^T [d][lp] after the scores, zero-padded columns
        transpose(qkv, kOff, ld, len, d, buf, kt, lp);
        for (int i = 0; i < len; i += 4) {
            int rows = Math.min(4, len - i);
            int a0 = qOff + i * ld;
            int a1 = qOff + (i + Math.min(1, rows - 1)) * ld;
            int a2 = qOff + (i + Math.min(2, rows - 1)) * ld;
            int a3 = qOff + (i + Math.min(3, rows - 1)) * ld;
            int j = 0;
            for (; j + 2 * L <= lp; j += 2 * L) {
                scores2(qkv, a0, a1, a2, a3, buf, kt + j, lp, d, i * lp + j, rows);
            }
            if (j < lp) {
                scores1(qkv, a0, a1, a2, a3, buf, kt + j, lp, d, i * lp + j, rows);
            }
        }
    }

    private static void transpose(float[] qkv, int kOff, int ld, int len, int d, float[] buf, int kt, int lp) {
        for (int c = 0; c < d; c++) {
            int row = kt + c * lp;
            for (int j = 0; j < len; j++) {
                buf[row + j] = qkv[kOff + j * ld + c];
            }
            for (int j = len; j < lp; j++) {
                buf[row + j] = 0f;
            }
        }
    }

    /** Four query rows x two vectors of keys. */
    private static void scores2(float[] qkv, int a0, int a1, int a2, int a3, float[] buf, int b0, int lp, int d,
                                int o, int rows) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00;
        FloatVector c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (int c = 0, b = b0; c < d; c++, b += lp) {
            FloatVector w0 = FloatVector.fromArray(S, buf, b);
            FloatVector w1 = FloatVector.fromArray(S, buf, b + L);
            FloatVector x = FloatVector.broadcast(S, qkv[a0 + c]);
            c00 = x.fma(w0, c00); c01 = x.fma(w1, c01);
            x = FloatVector.broadcast(S, qkv[a1 + c]);
            c10 = x.fma(w0, c10); c11 = x.fma(w1, c11);
            x = FloatVector.broadcast(S, qkv[a2 + c]);
            c20 = x.fma(w0, c20); c21 = x.fma(w1, c21);
            x = FloatVector.broadcast(S, qkv[a3 + c]);
            c30 = x.fma(w0, c30); c31 = x.fma(w1, c31);
        }
        c00.intoArray(buf, o); c01.intoArray(buf, o + L);
        if (rows > 1) { c10.intoArray(buf, o + lp); c11.intoArray(buf, o + lp + L); }
        if (rows > 2) { c20.intoArray(buf, o + 2 * lp); c21.intoArray(buf, o + 2 * lp + L); }
        if (rows > 3) { c30.intoArray(buf, o + 3 * lp); c31.intoArray(buf, o + 3 * lp + L); }
    }

    /** Four query rows x one vector of keys. */
    private static void scores1(float[] qkv, int a0, int a1, int a2, int a3, float[] buf, int b0, int lp, int d,
                                int o, int rows) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
        for (int c = 0, b = b0; c < d; c++, b += lp) {
            FloatVector w = FloatVector.fromArray(S, buf, b);
            c0 = FloatVector.broadcast(S, qkv[a0 + c]).fma(w, c0);
            c1 = FloatVector.broadcast(S, qkv[a1 + c]).fma(w, c1);
            c2 = FloatVector.broadcast(S, qkv[a2 + c]).fma(w, c2);
            c3 = FloatVector.broadcast(S, qkv[a3 + c]).fma(w, c3);
        }
        c0.intoArray(buf, o);
        if (rows > 1) c1.intoArray(buf, o + lp);
        if (rows > 2) c2.intoArray(buf, o + 2 * lp);
        if (rows > 3) c3.intoArray(buf, o + 3 * lp);
    }

    /** {@code ctx = P V} with P the softmaxed scores in {@code buf}. */
    static void context(float[] buf, float[] qkv, int vOff, int ld, int len, int d, float[] ctx, int cOff, int ldc) {
        int lp = stride(len);
        for (int i = 0; i < len; i += 4) {
            int rows = Math.min(4, len - i);
            int p0 = i * lp;
            int p1 = (i + Math.min(1, rows - 1)) * lp;
            int p2 = (i + Math.min(2, rows - 1)) * lp;
            int p3 = (i + Math.min(3, rows - 1)) * lp;
            int o = cOff + i * ldc;
            int c = 0;
            for (; c + 2 * L <= d; c += 2 * L) {
                context2(buf, p0, p1, p2, p3, qkv, vOff + c, ld, len, ctx, o + c, ldc, rows);
            }
            for (; c < d; c += L) {
                context1(buf, p0, p1, p2, p3, qkv, vOff + c, ld, len, ctx, o + c, ldc, rows, S.indexInRange(c, d));
            }
        }
    }

    /** Four rows x two full vectors of head columns. */
    private static void context2(float[] buf, int p0, int p1, int p2, int p3, float[] qkv, int v0, int ld, int len,
                                 float[] ctx, int o, int ldc, int rows) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00;
        FloatVector c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (int j = 0, v = v0; j < len; j++, v += ld) {
            FloatVector w0 = FloatVector.fromArray(S, qkv, v);
            FloatVector w1 = FloatVector.fromArray(S, qkv, v + L);
            FloatVector x = FloatVector.broadcast(S, buf[p0 + j]);
            c00 = x.fma(w0, c00); c01 = x.fma(w1, c01);
            x = FloatVector.broadcast(S, buf[p1 + j]);
            c10 = x.fma(w0, c10); c11 = x.fma(w1, c11);
            x = FloatVector.broadcast(S, buf[p2 + j]);
            c20 = x.fma(w0, c20); c21 = x.fma(w1, c21);
            x = FloatVector.broadcast(S, buf[p3 + j]);
            c30 = x.fma(w0, c30); c31 = x.fma(w1, c31);
        }
        c00.intoArray(ctx, o); c01.intoArray(ctx, o + L);
        if (rows > 1) { c10.intoArray(ctx, o + ldc); c11.intoArray(ctx, o + ldc + L); }
        if (rows > 2) { c20.intoArray(ctx, o + 2 * ldc); c21.intoArray(ctx, o + 2 * ldc + L); }
        if (rows > 3) { c30.intoArray(ctx, o + 3 * ldc); c31.intoArray(ctx, o + 3 * ldc + L); }
    }

    /** Four rows x one (possibly partial) vector of head columns. */
    private static void context1(float[] buf, int p0, int p1, int p2, int p3, float[] qkv, int v0, int ld, int len,
                                 float[] ctx, int o, int ldc, int rows, VectorMask<Float> m) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
        for (int j = 0, v = v0; j < len; j++, v += ld) {
            FloatVector w = FloatVector.fromArray(S, qkv, v, m);
            c0 = FloatVector.broadcast(S, buf[p0 + j]).fma(w, c0);
            c1 = FloatVector.broadcast(S, buf[p1 + j]).fma(w, c1);
            c2 = FloatVector.broadcast(S, buf[p2 + j]).fma(w, c2);
            c3 = FloatVector.broadcast(S, buf[p3 + j]).fma(w, c3);
        }
        c0.intoArray(ctx, o, m);
        if (rows > 1) c1.intoArray(ctx, o + ldc, m);
        if (rows > 2) c2.intoArray(ctx, o + 2 * ldc, m);
        if (rows > 3) c3.intoArray(ctx, o + 3 * ldc, m);
    }
}
