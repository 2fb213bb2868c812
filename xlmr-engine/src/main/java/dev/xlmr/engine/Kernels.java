package dev.xlmr.engine;

import java.lang.foreign.MemorySegment;

/**
 * The compute kernels behind the encoder: dense layers, general matrix products, self-attention per
 * (sequence, head) and the fused element-wise steps. All matrices are row-major fp32 {@code float[]}s; implementations reuse their scratch
 * buffers, so the hot path does not allocate large arrays. Get one from {@link KernelProvider}.
 *
 * <pre>{@code
 * try (Kernels k = KernelProvider.create("vector", 2)) {
 *     Weights w = k.pack(weight, 768, 768, Precision.FP32);     // once, at load
 *     k.linear(x, tokens, 768, w, bias, y, 768);                 // y = x W^T + b
 *     k.gemm(false, true, len, len, 64, 0.125f, q, 0, 768, kk, 0, 768, 0f, scores, 0, len); // Q K^T / 8
 *     k.softmax(scores, 0, len, len, len, 1f, null, 0);
 * }
 * }</pre>
 *
 * <p>Instances are safe for use by one thread at a time per call site; calls may run on an internal pool.
 */
public interface Kernels extends AutoCloseable {

    /** Provider name: {@code scalar}, {@code vector} or {@code native}. */
    String name();

    /** One line for logs: name, and what backs it (vector width, BLAS library and core), threads. */
    default String description() { return name() + ", " + threads() + " threads"; }

    /** Threads a single large call may use. */
    int threads();

    /**
     * Packs a weight matrix {@code w[out][in]} (row-major, as {@code nn.Linear.weight}) for {@link #linear}.
     * The array is copied (or, for the scalar FP32 case, kept by reference: do not modify it afterwards).
     */
    Weights pack(float[] w, int out, int in, Precision precision);

    /**
     * Like {@link #pack(float[], int, int, Precision)} for little-endian fp32 in a segment, e.g. a read-only
     * memory-mapped checkpoint. Providers that can read the segment directly keep a reference to it.
     */
    Weights pack(MemorySegment w, int out, int in, Precision precision);

    /**
     * {@code y[rows][out] = x[rows][in] W^T + bias}, with {@code w} packed by this provider.
     *
     * @param bias {@code [out]}, or null for none
     */
    void linear(float[] x, int rows, int in, Weights w, float[] bias, float[] y, int out);

    /**
     * {@code C = alpha op(A) op(B) + beta C} (BLAS sgemm, row-major). {@code op(A)} is {@code m x k}, {@code op(B)}
     * is {@code k x n}; {@code transA} means A is stored {@code k x m}, {@code transB} means B is stored
     * {@code n x k}. {@code lda/ldb/ldc} are row strides, so heads can be read straight out of a wider buffer.
     * With {@code beta == 0} C is not read.
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
              float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
              float beta, float[] c, int cOff, int ldc);

    /**
     * {@link #gemm} on the calling thread only, for callers that split their own work over the cores (many
     * small per-head products run side by side); the same product within rounding, bit for bit on the Vector
     * API kernels. The default is {@link #gemm}.
     *
     * <pre>{@code
     * // one (sequence, head) score block per task, the tasks spread over the cores by the caller
     * k.gemmSingleThread(false, true, len, len, 64, 0.125f, q, off, 768, key, off, 768, 0f, scores, 0, len);
     * }</pre>
     */
    default void gemmSingleThread(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                  float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                  float beta, float[] c, int cOff, int ldc) {
        gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /**
     * The GELU feed-forward block, {@code y = gelu(x up^T + upBias) down^T + downBias} with exact (erf) GELU:
     * {@code x} and {@code y} are {@code [rows][in]}, {@code up} is {@code inter x in}, {@code down} is
     * {@code in x inter}; {@code mid} ({@code [rows][inter]}) is scratch that implementations may leave unwritten.
     * The default is {@link #linear}, {@link #biasGelu}, {@link #linear}; providers whose matmuls work on their
     * own memory override it to keep the intermediate there.
     */
    default void geluFeedForward(float[] x, int rows, int in, Weights up, float[] upBias, float[] mid, int inter,
                                 Weights down, float[] downBias, float[] y) {
        linear(x, rows, in, up, null, mid, inter);
        biasGelu(mid, rows, inter, upBias);
        linear(mid, rows, inter, down, downBias, y, in);
    }

    /** In place: {@code x[r][j] = gelu(x[r][j] + bias[j])}, exact (erf) GELU; bias may be null. */
    void biasGelu(float[] x, int rows, int cols, float[] bias);

    /**
     * {@code out[r] = LayerNorm(x[r] + residual[r]) * gamma + beta} over {@code cols}; residual may be null and
     * {@code out} may be {@code x} or {@code residual}.
     */
    void residualLayerNorm(float[] x, float[] residual, int rows, int cols,
                           float[] gamma, float[] beta, float eps, float[] out);

    /**
     * In place, per row {@code r}: {@code x[r][j] = softmax_j(scale * x[r][j] + mask[maskOff + j])}, rows
     * {@code ld} apart starting at {@code off}. The mask is additive ({@code 0} keeps, {@code -Infinity} or a
     * large negative drops a column) and may be null. A row whose columns are all dropped becomes zeros.
     */
    void softmax(float[] x, int off, int rows, int cols, int ld, float scale, float[] mask, int maskOff);

    /**
     * Self-attention of one sequence's one head: {@code ctx = softmax(scale Q K^T + mask) V}, with Q, K and V
     * {@code len x d} at {@code qOff}, {@code kOff} and {@code vOff} of {@code qkv}, rows {@code ld} apart (e.g. the
     * columns of one head in a fused {@code [tokens][3 * hidden]} projection), and {@code ctx} {@code len x d} at
     * {@code cOff}, rows {@code ldc} apart. Query row {@code i} attends to key positions {@code j < keys}
     * ({@code keys <= len}: the positions past it are query-only), and only to {@code j <= i} when {@code causal};
     * a row with no key to attend to gets zeros. {@code scratch} holds at least {@link #attentionScratch} floats
     * and belongs to the caller's thread: calls with different scratch and output rows may run concurrently.
     *
     * <pre>{@code
     * float[] buf = new float[(int) k.attentionScratch(len, 64)];
     * // head 3 of a sequence at token offset 'off' in qkv [tokens][3 * 768], into ctx [tokens][768]
     * int q = off * 2304 + 3 * 64;
     * k.attention(qkv, q, q + 768, q + 1536, 2304, len, 64, len, false, 0.125f, ctx, off * 768 + 3 * 64, 768, buf);
     * }</pre>
     */
    void attention(float[] qkv, int qOff, int kOff, int vOff, int ld, int len, int d, int keys, boolean causal,
                   float scale, float[] ctx, int cOff, int ldc, float[] scratch);

    /** Floats of scratch that {@link #attention} needs for a sequence of {@code len} tokens and head size {@code d}. */
    long attentionScratch(int len, int d);

    /**
     * Waits until background work on packed weights (e.g. repacking them into a faster layout) has finished.
     * Call it before releasing memory that weights were packed from in place (such as a mapped checkpoint)
     * while these kernels stay open; the default does nothing.
     */
    default void drain() {}

    /** Releases threads and native resources; the default does nothing. */
    @Override
    default void close() {}
}
