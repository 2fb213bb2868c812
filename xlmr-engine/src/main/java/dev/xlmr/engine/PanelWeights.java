package dev.xlmr.engine;

/**
 * Weights packed for the Vector API kernel: panels of {@code nr} output columns, each stored contiguously over
 * k ({@code [panel][k][nr]}), zero-padded past {@code out}, so the micro-kernel streams one panel linearly.
 * No Vector API types here: this class must load without {@code jdk.incubator.vector}.
 */
final class PanelWeights extends Weights {
    final int nr;          // columns per panel (two vectors)
    final int panels;
    final float[] f32;     // FP32: [panel][k][nr]
    final int[] bf16;      // BF16: [panel][k][nr/2]; int j holds column j (low 16 bits) and column j + nr/2 (high)
    final byte[] i8;       // INT8: [panel][k][nr]
    final float[] scales;  // INT8: [panels * nr], zero-padded

    PanelWeights(Rows rows, int out, int in, Precision p, int nr, Kernels owner) {
        super(out, in, p, owner);
        this.nr = nr;
        this.panels = (out + nr - 1) / nr;
        long size = (long) panels * in * nr;
        if (size > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("weights too large: " + out + "x" + in);
        float[] buf = new float[in];
        int half = nr / 2;
        f32 = p == Precision.FP32 ? new float[(int) size] : null;
        bf16 = p == Precision.BF16 ? new int[(int) (size / 2)] : null;
        i8 = p == Precision.INT8 ? new byte[(int) size] : null;
        scales = p == Precision.INT8 ? new float[panels * nr] : null;
        for (int o = 0; o < out; o++) {
            rows.row(o, buf);
            int panel = o / nr, j = o % nr, base = panel * in;
            switch (p) {
                case FP32 -> { for (int k = 0; k < in; k++) f32[(base + k) * nr + j] = buf[k]; }
                case BF16 -> {
                    int shift = j < half ? 0 : 16, jj = j % half;
                    for (int k = 0; k < in; k++)
                        bf16[(base + k) * half + jj] |= (Quant.toBf16(buf[k]) & 0xFFFF) << shift;
                }
                case INT8 -> {
                    float s = scales[o] = Quant.int8Scale(buf, in);
                    for (int k = 0; k < in; k++) i8[(base + k) * nr + j] = Quant.toInt8(buf[k], s);
                }
            }
        }
    }

    @Override
    void row(int o, float[] dst) {
        int panel = o / nr, j = o % nr, base = panel * in, half = nr / 2;
        for (int k = 0; k < in; k++) {
            dst[k] = switch (precision) {
                case FP32 -> f32[(base + k) * nr + j];
                case BF16 -> Quant.fromBf16((short) (bf16[(base + k) * half + j % half] >>> (j < half ? 0 : 16)));
                case INT8 -> i8[(base + k) * nr + j] * scales[o];
            };
        }
    }
}
