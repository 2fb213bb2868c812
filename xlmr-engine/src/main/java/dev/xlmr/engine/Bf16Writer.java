package dev.xlmr.engine;

import java.lang.foreign.MemorySegment;

/** Kernels that round fp32 to bf16 into native memory: the activations of {@link DnnlKernels}' bf16 matmul. */
interface Bf16Writer {
    /**
     * {@code dst[i] = bf16(src[srcOff + i])} for {@code i < n}, little-endian shorts from byte {@code dstOff};
     * rounding as {@link Quant#toBf16} (nearest even, NaN stays NaN). Large blocks may be split over the
     * kernels' threads, so {@code dst} must be accessible from any thread (not from a confined arena).
     */
    void toBf16(float[] src, int srcOff, int n, MemorySegment dst, long dstOff);
}
