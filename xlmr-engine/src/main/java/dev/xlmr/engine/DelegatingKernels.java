package dev.xlmr.engine;

/**
 * Base of the native providers: they run the matrix products themselves and hand attention and the element-wise steps to
 * {@code delegate} (the Vector API kernels when available, else the scalar ones), which they also close.
 */
abstract class DelegatingKernels implements Kernels {
    final Kernels delegate;

    DelegatingKernels(Kernels delegate) {
        this.delegate = delegate;
    }

    @Override
    public void biasGelu(float[] x, int rows, int cols, float[] bias) {
        delegate.biasGelu(x, rows, cols, bias);
    }

    @Override
    public void residualLayerNorm(float[] x, float[] residual, int rows, int cols,
                                  float[] gamma, float[] beta, float eps, float[] out) {
        delegate.residualLayerNorm(x, residual, rows, cols, gamma, beta, eps, out);
    }

    @Override
    public void softmax(float[] x, int off, int rows, int cols, int ld, float scale, float[] mask, int maskOff) {
        delegate.softmax(x, off, rows, cols, ld, scale, mask, maskOff);
    }

    /** The delegate's attention: its products are too small for a native GEMM call to pay off. */
    @Override
    public void attention(float[] qkv, int qOff, int kOff, int vOff, int ld, int len, int d, int keys, boolean causal,
                          float scale, float[] ctx, int cOff, int ldc, float[] scratch) {
        delegate.attention(qkv, qOff, kOff, vOff, ld, len, d, keys, causal, scale, ctx, cOff, ldc, scratch);
    }

    @Override
    public long attentionScratch(int len, int d) {
        return delegate.attentionScratch(len, d);
    }

    @Override
    public void drain() {
        delegate.drain();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
