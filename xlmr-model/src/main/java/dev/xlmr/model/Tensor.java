package dev.xlmr.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A read-only fp32 tensor: a shape and a little-endian float {@link MemorySegment}, row-major.
 * Weights stored as F32 are views of the memory-mapped file (no copy); F16/BF16/F64 weights are
 * converted to fp32 once, when first asked for.
 *
 * <pre>{@code
 * Tensor w = weights.get("roberta.embeddings.word_embeddings.weight"); // [vocab, hidden]
 * float x = w.get(5, 0);
 * }</pre>
 */
public final class Tensor {
    /** Little-endian fp32 without alignment: safetensors offsets need not be multiples of 4. */
    public static final ValueLayout.OfFloat F32_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String name;
    private final int[] shape;
    private final long numel;
    private final MemorySegment data;

    /**
     * Wraps {@code data} (little-endian fp32, {@code numel(shape) * 4} bytes) without copying.
     *
     * @throws IllegalArgumentException when the sizes disagree
     */
    public Tensor(String name, int[] shape, MemorySegment data) {
        this.name = name;
        this.shape = shape.clone();
        this.numel = numel(shape);
        if (data.byteSize() != numel * 4) {
            throw new IllegalArgumentException("tensor '" + name + "' of shape " + Arrays.toString(shape)
                    + " needs " + numel * 4 + " bytes, got " + data.byteSize());
        }
        this.data = data;
    }

    /** A tensor holding a copy of {@code values} (for tests and small computed tensors). */
    public static Tensor of(String name, int[] shape, float[] values) {
        MemorySegment seg = Arena.ofAuto().allocate((long) values.length * 4, 4);
        for (int i = 0; i < values.length; i++) {
            seg.setAtIndex(F32_LE, i, values[i]);
        }
        return new Tensor(name, shape, seg);
    }

    /** The number of elements of a shape; throws on negative dimensions or overflow. */
    static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public String name() {
        return name;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return shape[i];
    }

    public long numel() {
        return numel;
    }

    /** The fp32 little-endian bytes, for engines that want to read them in bulk. */
    public MemorySegment segment() {
        return data.asReadOnly();
    }

    /** Element {@code i} in row-major order. */
    public float get(long i) {
        return data.getAtIndex(F32_LE, i);
    }

    /** Element {@code [row][col]} of a rank-2 tensor. */
    public float get(int row, int col) {
        return data.getAtIndex(F32_LE, (long) row * shape[1] + col);
    }

    /** A copy of all elements (only for tensors under 2^31 elements). */
    public float[] toFloatArray() {
        if (numel > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor '" + name + "' has too many elements for a float[]");
        }
        float[] out = new float[(int) numel];
        MemorySegment.copy(data, F32_LE, 0, out, 0, out.length);
        return out;
    }

    @Override
    public String toString() {
        return "Tensor[" + name + " " + Arrays.toString(shape) + "]";
    }
}
