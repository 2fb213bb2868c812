package dev.xlmr.train;

import java.util.Arrays;

/**
 * A value in the autograd graph: a row-major float64 array with its shape and a gradient array of
 * the same size (the gradient of the loss with respect to this value, accumulated by
 * {@link Tape#backward}). Parameters are long-lived vars; activations are made by the ops of
 * {@link Fn} and live for one step.
 *
 * <pre>{@code
 * Var w = Var.of(new int[] {3, 2}, 1, 2, 3, 4, 5, 6);
 * double first = w.data[0];
 * }</pre>
 */
public final class Var {
    /** The values, row-major. */
    public final double[] data;
    /** d loss / d data, same layout; zeroed by {@link #zeroGrad}. */
    public final double[] grad;
    private final int[] shape;

    /** A zero-filled var of the given shape. */
    public Var(int... shape) {
        this(shape, new double[numel(shape)]);
    }

    /** Wraps {@code data} (not copied). */
    public Var(int[] shape, double[] data) {
        this(shape, data, new double[data.length]);
    }

    private Var(int[] shape, double[] data, double[] grad) {
        if (data.length != numel(shape)) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + numel(shape)
                    + " values, got " + data.length);
        }
        this.shape = shape.clone();
        this.data = data;
        this.grad = grad;
    }

    /** A var holding {@code values}. */
    public static Var of(int[] shape, double... values) {
        return new Var(shape, values.clone());
    }

    /** The same values and gradient under another shape (a view: writes to either show in both). */
    public Var view(int... newShape) {
        return new Var(newShape, data, grad);
    }

    public int[] shape() {
        return shape.clone();
    }

    public int dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public int rank() {
        return shape.length;
    }

    public int size() {
        return data.length;
    }

    /** The product of all dimensions but the last: the rows of a [.., cols] matrix. */
    public int rows() {
        return data.length / Math.max(1, shape[shape.length - 1]);
    }

    public void zeroGrad() {
        Arrays.fill(grad, 0);
    }

    /** The only element of a one-element var (a loss). */
    public double item() {
        if (data.length != 1) {
            throw new IllegalStateException("item() of a var with " + data.length + " elements");
        }
        return data[0];
    }

    static int numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n *= d;
        }
        return Math.toIntExact(n);
    }

    @Override
    public String toString() {
        return "Var" + Arrays.toString(shape);
    }
}
