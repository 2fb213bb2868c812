package dev.xlmr.engine;

import java.lang.foreign.MemorySegment;

/** The process-wide instance behind {@link KernelProvider#best()}: everything delegated, except that close is ignored. */
final class SharedKernels implements Kernels {
    private final Kernels k;

    SharedKernels(Kernels k) { this.k = k; }

    @Override public String name() { return k.name(); }
    @Override public String description() { return k.description(); }
    @Override public int threads() { return k.threads(); }
    @Override public Weights pack(float[] w, int out, int in, Precision p) { return k.pack(w, out, in, p); }
    @Override public Weights pack(MemorySegment w, int out, int in, Precision p) { return k.pack(w, out, in, p); }

    @Override
    public void linear(float[] x, int rows, int in, Weights w, float[] bias, float[] y, int out) {
        k.linear(x, rows, in, w, bias, y, out);
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int kk, float alpha, float[] a, int aOff, int lda,
                     float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        k.gemm(transA, transB, m, n, kk, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    @Override
    public void geluFeedForward(float[] x, int rows, int in, Weights up, float[] upBias, float[] mid, int inter,
                                Weights down, float[] downBias, float[] y) {
        k.geluFeedForward(x, rows, in, up, upBias, mid, inter, down, downBias, y);
    }

    @Override public void biasGelu(float[] x, int rows, int cols, float[] bias) { k.biasGelu(x, rows, cols, bias); }

    @Override
    public void residualLayerNorm(float[] x, float[] residual, int rows, int cols, float[] gamma, float[] beta,
                                  float eps, float[] out) {
        k.residualLayerNorm(x, residual, rows, cols, gamma, beta, eps, out);
    }

    @Override
    public void softmax(float[] x, int off, int rows, int cols, int ld, float scale, float[] mask, int maskOff) {
        k.softmax(x, off, rows, cols, ld, scale, mask, maskOff);
    }

    @Override
    public void attention(float[] qkv, int qOff, int kOff, int vOff, int ld, int len, int d, int keys, boolean causal,
                          float scale, float[] ctx, int cOff, int ldc, float[] scratch) {
        k.attention(qkv, qOff, kOff, vOff, ld, len, d, keys, causal, scale, ctx, cOff, ldc, scratch);
    }

    @Override public long attentionScratch(int len, int d) { return k.attentionScratch(len, d); }

    @Override public void drain() { k.drain(); }

    /** Shared by the whole process: never closed. */
    @Override public void close() {}
}
