package dev.xlmr.train;

import java.util.Arrays;

/**
 * A value of the fp32 training path ({@link FastModel}): a row-major float array with its shape and
 * a gradient of the same size, allocated on first use (activations whose gradient nothing reads
 * never get one). The fp32 counterpart of {@link Var}; parameters are long-lived FVars.
 *
 * <pre>{@code
 * FVar w = new FVar(new int[] {3, 2}, new float[] {1, 2, 3, 4, 5, 6});
 * float[] g = w.grad(); // zeros until a backward adds to it
 * }</pre>
 */
public final class FVar {
    /** The values, row-major. */
    public final float[] data;
    private float[] grad;
    private final int[] shape;

    /** A zero-filled value of the given shape. */
    public FVar(int... shape) {
        this(shape, new float[Var.numel(shape)]);
    }

    /** Wraps {@code data} (not copied). */
    public FVar(int[] shape, float[] data) {
        if (data.length != Var.numel(shape)) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + Var.numel(shape)
                    + " values, got " + data.length);
        }
        this.shape = shape.clone();
        this.data = data;
    }

    /** d loss / d data, allocated (zeros) on first call. */
    public float[] grad() {
        if (grad == null) {
            grad = new float[data.length];
        }
        return grad;
    }

    /** The gradient if one was made, else null (nothing downstream was differentiated). */
    float[] gradOrNull() {
        return grad;
    }

    /** Drops the gradient (an activation's, once its backward has run). */
    void releaseGrad() {
        grad = null;
    }

    /** Zeroes the gradient if there is one (kept allocated, as PyTorch's zero_grad(set_to_none=False)). */
    void zeroGrad() {
        if (grad != null) {
            Par.fill(grad, 0f);
        }
    }

    /** The same values and gradient under another shape. */
    FVar view(int... newShape) {
        FVar v = new FVar(newShape, data);
        v.grad = grad();
        return v;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int size() {
        return data.length;
    }

    /** The last dimension. */
    public int cols() {
        return shape[shape.length - 1];
    }

    /** The product of all dimensions but the last. */
    public int rows() {
        return data.length / Math.max(1, cols());
    }

    /** The values widened to float64 (for callers of the float64 API). */
    double[] toDouble() {
        double[] d = new double[data.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = data[i];
        }
        return d;
    }

    @Override
    public String toString() {
        return "FVar" + Arrays.toString(shape);
    }
}
