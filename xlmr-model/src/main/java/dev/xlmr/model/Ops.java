package dev.xlmr.model;

/**
 * The building blocks of the reference forward pass, in plain loops with double accumulators.
 * Activations are row-major {@code float[]} of {@code rows x cols}; weights are {@link Tensor}s in
 * PyTorch's {@code [out][in]} layout. A faster engine can be checked against these one by one.
 */
public final class Ops {
    private Ops() {}

    /** {@code y = x W^T + b} for x of [rows][in], W of [out][in], b of [out] (b may be null). */
    public static float[] linear(float[] x, int rows, Tensor w, Tensor b) {
        int out = w.dim(0);
        int in = w.dim(1);
        if (x.length != rows * in) {
            throw new IllegalArgumentException("linear: input of " + x.length + " values is not " + rows + " x " + in);
        }
        float[] y = new float[Math.multiplyExact(rows, out)];
        float[] wRow = new float[in];
        for (int o = 0; o < out; o++) {
            long base = (long) o * in;
            for (int i = 0; i < in; i++) {
                wRow[i] = w.get(base + i);
            }
            double bias = b == null ? 0 : b.get(o);
            for (int r = 0; r < rows; r++) {
                double acc = bias;
                int xb = r * in;
                for (int i = 0; i < in; i++) {
                    acc += (double) x[xb + i] * wRow[i];
                }
                y[r * out + o] = (float) acc;
            }
        }
        return y;
    }

    /** LayerNorm over each row of x [rows][cols] with the biased variance, as torch does. */
    public static float[] layerNorm(float[] x, int rows, Tensor weight, Tensor bias, double eps) {
        int cols = weight.dim(0);
        float[] y = new float[x.length];
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            double mean = 0;
            for (int i = 0; i < cols; i++) {
                mean += x[base + i];
            }
            mean /= cols;
            double var = 0;
            for (int i = 0; i < cols; i++) {
                double d = x[base + i] - mean;
                var += d * d;
            }
            var /= cols;
            double inv = 1 / Math.sqrt(var + eps);
            for (int i = 0; i < cols; i++) {
                y[base + i] = (float) ((x[base + i] - mean) * inv * weight.get(i) + bias.get(i));
            }
        }
        return y;
    }

    /** Element-wise sum of two arrays of the same length (residual connections). */
    public static float[] add(float[] a, float[] b) {
        float[] y = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] + b[i];
        }
        return y;
    }

    /** Applies an activation in place. */
    public static void activate(float[] x, Activation act) {
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) act.apply(x[i]);
        }
    }

    /** tanh in place (pooler, classification head). */
    public static void tanh(float[] x) {
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.tanh(x[i]);
        }
    }

    /** Softmax of {@code x[from, from + n)} in place, with the maximum subtracted first. */
    public static void softmax(double[] x, int from, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = from; i < from + n; i++) {
            max = Math.max(max, x[i]);
        }
        double sum = 0;
        for (int i = from; i < from + n; i++) {
            x[i] = Math.exp(x[i] - max);
            sum += x[i];
        }
        for (int i = from; i < from + n; i++) {
            x[i] /= sum;
        }
    }

    /** Exact GELU: {@code x/2 (1 + erf(x / sqrt 2))}. */
    public static double gelu(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    /**
     * The error function to about 1e-16 relative, after W. J. Cody, "Rational Chebyshev
     * approximations for the error function", Math. Comp. 23 (1969), as in his CALERF (SPECFUN).
     */
    public static double erf(double x) {
        double y = Math.abs(x);
        if (Double.isNaN(x)) {
            return x;
        }
        if (y <= 0.5) {
            double z = y * y;
            double num = ERF_A[4] * z;
            double den = z;
            for (int i = 0; i < 3; i++) {
                num = (num + ERF_A[i]) * z;
                den = (den + ERF_B[i]) * z;
            }
            return x * (num + ERF_A[3]) / (den + ERF_B[3]);
        }
        double r = y >= 6 ? 0 : erfcPositive(y);
        return x < 0 ? r - 1 : 1 - r;
    }

    /** erfc(y) for y > 0.5. */
    static double erfcPositive(double y) {
        double r;
        if (y <= 4) {
            double num = ERF_C[8] * y;
            double den = y;
            for (int i = 0; i < 7; i++) {
                num = (num + ERF_C[i]) * y;
                den = (den + ERF_D[i]) * y;
            }
            r = (num + ERF_C[7]) / (den + ERF_D[7]);
        } else {
            double z = 1 / (y * y);
            double num = ERF_P[5] * z;
            double den = z;
            for (int i = 0; i < 4; i++) {
                num = (num + ERF_P[i]) * z;
                den = (den + ERF_Q[i]) * z;
            }
            r = z * (num + ERF_P[4]) / (den + ERF_Q[4]);
            r = (1 / Math.sqrt(Math.PI) - r) / y;
        }
        // exp(-y^2) split as exp(-ysq^2) exp(-(y - ysq)(y + ysq)) to keep its precision.
        double ysq = Math.floor(y * 16) / 16;
        double del = (y - ysq) * (y + ysq);
        return Math.exp(-ysq * ysq) * Math.exp(-del) * r;
    }

    private static final double[] ERF_A = {
        3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
        3.20937758913846947e03, 1.85777706184603153e-1
    };
    private static final double[] ERF_B = {
        2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03
    };
    private static final double[] ERF_C = {
        5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
        2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
        2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8
    };
    private static final double[] ERF_D = {
        1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
        1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
        3.43936767414372164e03, 1.23033935480374942e03
    };
    private static final double[] ERF_P = {
        3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
        1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2
    };
    private static final double[] ERF_Q = {
        2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
        6.05183413124413191e-2, 2.33520497626869185e-3
    };
}
