package dev.xlmr.engine;

/**
 * Base of the native providers: they run the matrix products themselves and hand the element-wise steps to
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

    @Override
    public void drain() {
        delegate.drain();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
