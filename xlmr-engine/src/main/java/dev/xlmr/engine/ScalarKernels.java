package dev.xlmr.engine;

import java.lang.foreign.MemorySegment;

/**
 * The reference: plain loops with double accumulation, single-threaded. Every fast kernel is tested against it,
 * and it is the fallback when neither the Vector API nor a native BLAS is usable.
 */
final class ScalarKernels implements Kernels, Bf16Writer, Int8Rows {
    private final ThreadLocal<float[]> rowBuf = ThreadLocal.withInitial(() -> new float[0]);

    @Override public String name() { return "scalar"; }

    @Override public int threads() { return 1; }

    @Override
    public Weights pack(float[] w, int out, int in, Precision precision) {
        return RowMajorWeights.of(w, out, in, precision, this);
    }

    @Override
    public Weights pack(MemorySegment w, int out, int in, Precision precision) {
        return RowMajorWeights.of(w, out, in, precision, this);
    }

    @Override
    public void linear(float[] x, int rows, int in, Weights w, float[] bias, float[] y, int out) {
        w.check(this, in, out);
        float[] wr = rowBuf.get();
        if (wr.length < in) rowBuf.set(wr = new float[in]);
        for (int o = 0; o < out; o++) {
            w.row(o, wr);
            for (int r = 0; r < rows; r++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) s += (double) x[r * in + i] * wr[i];
                y[r * out + o] = (float) s;
            }
        }
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    float bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    s += (double) av * bv;
                }
                int ci = cOff + i * ldc + j;
                c[ci] = (float) (alpha * s + (beta == 0 ? 0 : (double) beta * c[ci]));
            }
        }
    }

    @Override
    public void biasGelu(float[] x, int rows, int cols, float[] bias) {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++) {
                int i = r * cols + j;
                x[i] = (float) Erf.gelu(x[i] + (bias == null ? 0f : bias[j]));
            }
    }

    @Override
    public void residualLayerNorm(float[] x, float[] residual, int rows, int cols,
                                  float[] gamma, float[] beta, float eps, float[] out) {
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                float v = x[o + j] + (residual == null ? 0f : residual[o + j]);
                out[o + j] = v;
                sum += v;
            }
            double mean = sum / cols, var = 0;
            for (int j = 0; j < cols; j++) { double d = out[o + j] - mean; var += d * d; }
            double inv = 1 / Math.sqrt(var / cols + eps);
            for (int j = 0; j < cols; j++) out[o + j] = (float) ((out[o + j] - mean) * inv * gamma[j] + beta[j]);
        }
    }

    @Override
    public void softmax(float[] x, int off, int rows, int cols, int ld, float scale, float[] mask, int maskOff) {
        for (int r = 0; r < rows; r++) {
            int o = off + r * ld;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++)
                max = Math.max(max, (double) scale * x[o + j] + (mask == null ? 0 : mask[maskOff + j]));
            if (max == Double.NEGATIVE_INFINITY) {
                for (int j = 0; j < cols; j++) x[o + j] = 0;
                continue;
            }
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                double e = Math.exp((double) scale * x[o + j] + (mask == null ? 0 : mask[maskOff + j]) - max);
                x[o + j] = (float) e;
                sum += e;
            }
            for (int j = 0; j < cols; j++) x[o + j] = (float) (x[o + j] / sum);
        }
    }

    /**
     * The plain reference: scores with double accumulation rounded to float, the {@link #softmax} of each row over
     * the keys it may see, then {@code P V} with double accumulation. {@code scratch} holds one row of scores.
     */
    @Override
    public void attention(float[] qkv, int qOff, int kOff, int vOff, int ld, int len, int d, int keys, boolean causal,
                          float scale, float[] ctx, int cOff, int ldc, float[] scratch) {
        for (int i = 0; i < len; i++) {
            int cols = causal ? Math.min(i + 1, keys) : keys;
            for (int j = 0; j < cols; j++) {
                double s = 0;
                for (int c = 0; c < d; c++) s += (double) qkv[qOff + i * ld + c] * qkv[kOff + j * ld + c];
                scratch[j] = (float) s;
            }
            softmax(scratch, 0, 1, cols, cols, scale, null, 0);
            for (int c = 0; c < d; c++) {
                double s = 0;
                for (int j = 0; j < cols; j++) s += (double) scratch[j] * qkv[vOff + j * ld + c];
                ctx[cOff + i * ldc + c] = (float) s;
            }
        }
    }

    @Override public long attentionScratch(int len, int d) { return len; }

    @Override
    public void toBf16(float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        java.util.Objects.checkFromIndexSize(srcOff, Math.max(0, n), src.length);
        java.util.Objects.checkFromIndexSize(dstOff, 2L * Math.max(0, n), dst.byteSize());
        for (int i = 0; i < n; i++) dst.set(Quant.BF16_LE, dstOff + 2L * i, Quant.toBf16(src[srcOff + i]));
    }

    // ---------------------------------------------------------------- int8 rows (DnnlKernels' u8 x s8 matmul)

    @Override
    public void quantizeRows(float[] x, int rows, int n, int levels, float[] rowScale, int[] rowZero, MemorySegment dst) {
        for (int r = 0; r < rows; r++) {
            int off = r * n;
            float lo = 0, hi = 0;
            for (int i = 0; i < n; i++) {
                float v = x[off + i];
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            float scale = (hi - lo) / levels;
            long d = (long) r * n;
            if (!(scale > 0) || Float.isInfinite(scale)) { // all zero (or not finite: leave it to the fp32 result's NaN)
                for (int i = 0; i < n; i++) dst.set(java.lang.foreign.ValueLayout.JAVA_BYTE, d + i, (byte) 0);
                rowScale[r] = scale == 0 ? 0 : Float.NaN;
                rowZero[r] = 0;
                continue;
            }
            float inv = 1 / scale;
            int z = Math.round(-lo * inv);
            float zf = z + 0.5f;
            for (int i = 0; i < n; i++) { // v >= -0.5 up to rounding: truncation is round-half-up, then clamped
                int v = (int) (x[off + i] * inv + zf);
                dst.set(java.lang.foreign.ValueLayout.JAVA_BYTE, d + i, (byte) Math.max(0, Math.min(levels, v)));
            }
            rowScale[r] = scale;
            rowZero[r] = z;
        }
    }

    @Override
    public void dequantize(MemorySegment acc, int rows, int out, float[] rowScale, int[] rowZero, int[] sums, float[] ws,
                           float[] bias, float[] y) {
        for (int r = 0; r < rows; r++) {
            float sr = rowScale[r];
            int zr = rowZero[r];
            for (int o = 0; o < out; o++) {
                int a = acc.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, (long) r * out + o);
                float v = (a - zr * sums[o]) * (sr * ws[o]);
                y[r * out + o] = bias == null ? v : v + bias[o];
            }
        }
    }
}
