package dev.xlmr.engine;

import java.lang.foreign.MemorySegment;

/**
 * Weights for {@link DnnlKernels}: the {@code [out][in]} matrix as it is (read by oneDNN as the {@code in x out}
 * matrix B in its {@code ba} layout), fp32 or bf16, in native memory. FP32 weights from a mapped checkpoint are
 * used in place (no copy); heap arrays are copied once; BF16 is rounded once (nearest even, as {@link Quant}).
 */
final class DnnlWeights extends Weights {
    final MemorySegment data;
    final MemorySegment md;     // dnnl_memory_desc_t: in x out, ba
    final MemorySegment memory; // dnnl_memory_t over data

    DnnlWeights(MemorySegment data, MemorySegment md, MemorySegment memory, int out, int in, Precision p, Kernels owner) {
        super(out, in, p, owner);
        this.data = data;
        this.md = md;
        this.memory = memory;
    }

    @Override
    void row(int o, float[] dst) {
        if (precision == Precision.FP32) {
            MemorySegment.copy(data, F32, (long) o * in * 4, dst, 0, in);
        } else {
            for (int i = 0; i < in; i++) dst[i] = Quant.fromBf16(data.get(Quant.BF16_LE, ((long) o * in + i) * 2));
        }
    }
}
