package dev.xlmr.engine;

import java.lang.foreign.MemorySegment;

/**
 * Kernels that do the element-wise halves of {@link DnnlKernels}' int8 matmul: fp32 activation rows to u8, each
 * row with its own scale and zero point, and the matmul's int32 sums back to fp32. {@link ScalarKernels} has the
 * plain reference; {@link VectorKernels} gives the same bytes and floats with the Vector API, rows split over its
 * threads. Without a fast version these loops took 10-25% of an int8 linear layer on one thread.
 */
interface Int8Rows {
    /**
     * Rows {@code [0, rows)} of {@code x} ({@code [rows][n]}) as u8 into {@code dst} (row {@code r} from byte
     * {@code r * n}): {@code levels} steps over {@code [min(0, min x), max(0, max x)]}, so that 0 is exact;
     * {@code rowScale[r]} and {@code rowZero[r]} receive the step and the zero point (a row of zeros: scale 0; a
     * row with a non-finite value: scale NaN, bytes 0, so that the result is NaN as fp32's would be).
     * {@code dst} must be accessible from any thread.
     */
    void quantizeRows(float[] x, int rows, int n, int levels, float[] rowScale, int[] rowZero, MemorySegment dst);

    /**
     * {@code y[r][o] = (acc[r][o] - rowZero[r] sums[o]) (rowScale[r] ws[o]) + bias[o]} ({@code bias} may be null)
     * for {@code r < rows, o < out}; {@code acc} holds native-order int32 sums {@code [rows][out]}.
     */
    void dequantize(MemorySegment acc, int rows, int out, float[] rowScale, int[] rowZero, int[] sums, float[] ws,
                    float[] bias, float[] y);
}
