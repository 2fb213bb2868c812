package dev.xlmr.engine;

import java.lang.foreign.MemorySegment;

/** fp32 weights handed to BLAS as they are: {@code [out][in]} row-major, read as B^T. No copy. */
final class NativeWeights extends Weights {
    final MemorySegment seg;

    NativeWeights(MemorySegment seg, int out, int in, Kernels owner) {
        super(out, in, Precision.FP32, owner);
        if ((long) out * in * 4 > seg.byteSize()) throw new IllegalArgumentException("too small for " + out + "x" + in);
        this.seg = seg;
    }

    @Override
    void row(int o, float[] dst) {
        MemorySegment.copy(seg, F32, (long) o * in * 4, dst, 0, in);
    }
}
