package dev.xlmr.engine;

import java.lang.foreign.MemorySegment;

/**
 * fp32 {@link #linear} and {@link #gemm} through OpenBLAS {@code cblas_sgemm} (FFM downcalls, heap arrays passed
 * without copies). Element-wise ops and BF16/INT8 weights (OpenBLAS has no mixed bf16-weight/fp32-activation
 * GEMM) go to {@code delegate}: the Vector API kernels when available, else the scalar ones.
 */
final class NativeBlasKernels extends DelegatingKernels {
    private final OpenBlas blas;
    private final int threads;

    NativeBlasKernels(int threads, Kernels delegate) {
        super(delegate);
        this.blas = OpenBlas.get();
        this.threads = Math.max(1, threads);
    }

    @Override
    public String description() {
        return "native: " + blas.config + " (core " + blas.core + ") from " + blas.source + ", " + threads
                + " threads; element-wise and bf16/int8 by " + delegate.name();
    }

    @Override public String name() { return "native"; }

    @Override public int threads() { return threads; }


    @Override
    public Weights pack(float[] w, int out, int in, Precision precision) {
        if (precision != Precision.FP32) return delegate.pack(w, out, in, precision);
        if ((long) out * in > w.length) throw new IllegalArgumentException("array too small for " + out + "x" + in);
        return new NativeWeights(MemorySegment.ofArray(w), out, in, this);
    }

    @Override
    public Weights pack(MemorySegment w, int out, int in, Precision precision) {
        if (precision != Precision.FP32) return delegate.pack(w, out, in, precision);
        return new NativeWeights(w, out, in, this);
    }

    @Override
    public void linear(float[] x, int rows, int in, Weights w, float[] bias, float[] y, int out) {
        if (w.owner == delegate) {
            delegate.linear(x, rows, in, w, bias, y, out);
            return;
        }
        w.check(this, in, out);
        if (rows <= 0) return;
        if ((long) rows * in > x.length || (long) rows * out > y.length) throw new IndexOutOfBoundsException("x or y too small");
        float beta = 0f;
        if (bias != null) { // y = bias, then sgemm with beta = 1 adds the product: one pass over y
            for (int r = 0; r < rows; r++) System.arraycopy(bias, 0, y, r * out, out);
            beta = 1f;
        }
        sgemm(OpenBlas.NO_TRANS, OpenBlas.TRANS, rows, out, in, 1f, MemorySegment.ofArray(x), in,
                ((NativeWeights) w).seg, in, beta, MemorySegment.ofArray(y), out);
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float beta, float[] c, int cOff, int ldc) {
        if (m <= 0 || n <= 0) return;
        // bounds: BLAS would read or write past the arrays silently
        checkMatrix(a, aOff, transA ? k : m, transA ? m : k, lda);
        checkMatrix(b, bOff, transB ? n : k, transB ? k : n, ldb);
        checkMatrix(c, cOff, m, n, ldc);
        sgemm(transA ? OpenBlas.TRANS : OpenBlas.NO_TRANS, transB ? OpenBlas.TRANS : OpenBlas.NO_TRANS, m, n, k, alpha,
                MemorySegment.ofArray(a).asSlice(aOff * 4L), lda, MemorySegment.ofArray(b).asSlice(bOff * 4L), ldb,
                beta, MemorySegment.ofArray(c).asSlice(cOff * 4L), ldc);
    }

    static void checkMatrix(float[] a, int off, int rows, int cols, int ld) {
        if (rows == 0 || cols == 0) return;
        if (off < 0 || ld < cols || off + (long) (rows - 1) * ld + cols > a.length)
            throw new IndexOutOfBoundsException("matrix " + rows + "x" + cols + " ld " + ld + " at " + off
                    + " outside array of " + a.length);
    }

    private void sgemm(int ta, int tb, int m, int n, int k, float alpha, MemorySegment a, int lda,
                       MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        blas.threads(threads); // a process-wide setting in OpenBLAS: re-applied when another provider changed it
        try {
            blas.sgemm.invokeExact(OpenBlas.ROW_MAJOR, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

}
