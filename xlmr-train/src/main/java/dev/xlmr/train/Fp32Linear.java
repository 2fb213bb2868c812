package dev.xlmr.train;

import dev.xlmr.engine.Kernels;

/**
 * The three matrix products of {@link Fn#linear} (forward {@code x W^T}, backward {@code dy W} and
 * {@code dy^T x}) in fp32 on the engine's kernels (oneDNN, Vector API, BLAS), with float64 values
 * and gradients on either side: the master weights, the optimizer and every other op stay float64.
 * {@link Fn#linear} is the plain reference it is tested against.
 *
 * <pre>{@code
 * try (Kernels k = KernelProvider.best()) {
 *     Var y = Fp32Linear.linear(tape, x, w, b, k);
 * }
 * }</pre>
 */
public final class Fp32Linear {
    private Fp32Linear() {}

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    /** {@code y = x W^T + b}: x [.., in], W [out, in], b [out] or null; the products in fp32. */
    public static Var linear(Tape t, Var x, Var w, Var b, Kernels k) {
        int in = w.dim(1);
        int out = w.dim(0);
        if (x.dim(-1) != in) {
            throw new IllegalArgumentException("linear: input " + x + " does not match weight " + w);
        }
        int n = x.rows();
        int[] shape = x.shape();
        shape[shape.length - 1] = out;
        Var y = new Var(shape);
        float[] xf = toFloat(x.data);
        float[] wf = toFloat(w.data);
        float[] yf = new float[n * out];
        if (n > 0) {
            k.gemm(false, true, n, out, in, 1f, xf, 0, in, wf, 0, in, 0f, yf, 0, out);
        }
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < out; o++) {
                y.data[r * out + o] = yf[r * out + o] + (b == null ? 0 : b.data[o]);
            }
        }
        t.record(() -> {
            if (n == 0) {
                return;
            }
            float[] dy = toFloat(y.grad);
            float[] dx = new float[n * in];
            k.gemm(false, false, n, in, out, 1f, dy, 0, out, wf, 0, in, 0f, dx, 0, in);
            for (int i = 0; i < dx.length; i++) {
                x.grad[i] += dx[i];
            }
            float[] dw = new float[out * in];
            k.gemm(true, false, out, in, n, 1f, dy, 0, out, xf, 0, in, 0f, dw, 0, in);
            for (int i = 0; i < dw.length; i++) {
                w.grad[i] += dw[i];
            }
            if (b != null) {
                for (int r = 0; r < n; r++) {
                    for (int o = 0; o < out; o++) {
                        b.grad[o] += y.grad[r * out + o];
                    }
                }
            }
        });
        return y;
    }
}
