package dev.xlmr.engine;

import java.lang.foreign.MemorySegment;

/** Plain {@code [out][in]} storage used by the scalar reference (fp32 keeps the caller's array or segment). */
final class RowMajorWeights extends Weights {
    private final Rows fp32;      // FP32
    private final short[] bf16;   // BF16, [out][in]
    private final byte[] q;       // INT8, [out][in]
    private final float[] scales; // INT8, [out]

    RowMajorWeights(Rows rows, int out, int in, Precision p, Kernels owner) {
        super(out, in, p, owner);
        float[] buf = new float[in];
        switch (p) {
            case FP32 -> { fp32 = rows; bf16 = null; q = null; scales = null; }
            case BF16 -> {
                fp32 = null; q = null; scales = null;
                bf16 = new short[Math.multiplyExact(out, in)];
                for (int o = 0; o < out; o++) {
                    rows.row(o, buf);
                    for (int i = 0; i < in; i++) bf16[o * in + i] = Quant.toBf16(buf[i]);
                }
            }
            default -> {
                fp32 = null; bf16 = null;
                q = new byte[Math.multiplyExact(out, in)];
                scales = new float[out];
                for (int o = 0; o < out; o++) {
                    rows.row(o, buf);
                    float s = scales[o] = Quant.int8Scale(buf, in);
                    for (int i = 0; i < in; i++) q[o * in + i] = Quant.toInt8(buf[i], s);
                }
            }
        }
    }

    static RowMajorWeights of(float[] w, int out, int in, Precision p, Kernels owner) {
        return new RowMajorWeights(Rows.of(w, out, in), out, in, p, owner);
    }

    static RowMajorWeights of(MemorySegment w, int out, int in, Precision p, Kernels owner) {
        return new RowMajorWeights(Rows.of(w, out, in), out, in, p, owner);
    }

    @Override
    void row(int o, float[] dst) {
        switch (precision) {
            case FP32 -> fp32.row(o, dst);
            case BF16 -> { for (int i = 0; i < in; i++) dst[i] = Quant.fromBf16(bf16[o * in + i]); }
            default -> { float s = scales[o]; for (int i = 0; i < in; i++) dst[i] = q[o * in + i] * s; }
        }
    }
}
