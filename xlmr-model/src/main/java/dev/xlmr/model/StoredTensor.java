package dev.xlmr.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/** A tensor as stored in a file: dtype, shape and its little-endian bytes (a slice of a mapping). */
record StoredTensor(String name, DType dtype, int[] shape, MemorySegment bytes, String file) {
    private static final ValueLayout.OfShort I16_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The fp32 view: F32 as is, the other float types converted once into a new segment. */
    Tensor toFloat() {
        long n = Tensor.numel(shape);
        return switch (dtype) {
            case F32 -> new Tensor(name, shape, bytes);
            case F16, BF16, F64 -> {
                MemorySegment out = Arena.ofAuto().allocate(n * 4, 4);
                for (long i = 0; i < n; i++) {
                    float v = switch (dtype) {
                        case F16 -> Float.float16ToFloat(bytes.getAtIndex(I16_LE, i));
                        // bfloat16 is the upper half of an fp32
                        case BF16 -> Float.intBitsToFloat((bytes.getAtIndex(I16_LE, i) & 0xFFFF) << 16);
                        default -> (float) bytes.getAtIndex(F64_LE, i);
                    };
                    out.setAtIndex(Tensor.F32_LE, i, v);
                }
                yield new Tensor(name, shape, out);
            }
            default -> throw new CheckpointException(file + ": tensor '" + name + "' has dtype " + dtype
                    + "; weights must be F32, F16, BF16 or F64");
        };
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
