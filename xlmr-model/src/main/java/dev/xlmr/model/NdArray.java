package dev.xlmr.model;

import java.util.Arrays;

/**
 * A model output: a shape and its fp32 values in row-major order.
 *
 * <pre>{@code
 * NdArray logits = out.get("logits");     // shape [batch][labels]
 * float first = logits.get(0, 1);
 * }</pre>
 */
public record NdArray(int[] shape, float[] data) {
    public NdArray {
        shape = shape.clone();
        if (Tensor.numel(shape) != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not hold " + data.length + " values");
        }
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return shape[i];
    }

    /** The element at a full index, e.g. {@code get(batch, position, hidden)}. */
    public float get(int... index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index of rank " + index.length + " for shape " + Arrays.toString(shape));
        }
        int flat = 0;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " for shape " + Arrays.toString(shape));
            }
            flat = flat * shape[i] + index[i];
        }
        return data[flat];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NdArray n && Arrays.equals(shape, n.shape) && Arrays.equals(data, n.data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "NdArray" + Arrays.toString(shape);
    }
}
