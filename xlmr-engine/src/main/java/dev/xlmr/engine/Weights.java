package dev.xlmr.engine;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A linear layer's weight matrix {@code [out][in]} (the layout of {@code nn.Linear.weight}), packed once by a
 * {@link Kernels} provider into whatever layout its {@link Kernels#linear linear} kernel reads fastest.
 * Instances are immutable and thread-safe; use them only with the provider that packed them.
 *
 * <pre>{@code
 * Kernels k = KernelProvider.best();
 * Weights w = k.pack(weight, 3072, 768, Precision.FP32);  // weight.length == 3072 * 768
 * k.linear(x, rows, 768, w, bias, y, 3072);                // y = x W^T + b
 * }</pre>
 */
public abstract sealed class Weights permits RowMajorWeights, PanelWeights, NativeWeights, DnnlWeights {
    /** Little-endian fp32, no alignment assumed (tensor files need not align their data). */
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    final int out;
    final int in;
    final Precision precision;
    final Kernels owner;

    Weights(int out, int in, Precision precision, Kernels owner) {
        if (out <= 0 || in <= 0) throw new IllegalArgumentException("bad shape " + out + "x" + in);
        this.out = out;
        this.in = in;
        this.precision = precision;
        this.owner = owner;
    }

    /** Output features (rows of the {@code [out][in]} matrix). */
    public final int out() { return out; }

    /** Input features (columns of the {@code [out][in]} matrix). */
    public final int in() { return in; }

    /** Storage precision. */
    public final Precision precision() { return precision; }

    /** The weight {@code W[o][i]} as the kernels see it (after rounding to {@link #precision()}). */
    public final float get(int o, int i) {
        if (o < 0 || o >= out || i < 0 || i >= in) throw new IndexOutOfBoundsException(o + "," + i);
        float[] row = new float[in];
        row(o, row);
        return row[i];
    }

    /** Writes row {@code o} (dequantized) into {@code dst[0..in)}. */
    abstract void row(int o, float[] dst);

    void check(Kernels k, int in, int out) {
        if (owner != k) throw new IllegalArgumentException("weights were packed by " + owner.name() + ", not " + k.name());
        if (in != this.in || out != this.out)
            throw new IllegalArgumentException("weights are " + this.out + "x" + this.in + ", call wants " + out + "x" + in);
    }

    /** Source of fp32 rows: a heap array or a (possibly mapped, read-only) segment, both {@code [out][in]}. */
    interface Rows {
        void row(int o, float[] dst);

        static Rows of(float[] w, int out, int in) {
            if ((long) out * in > w.length) throw new IllegalArgumentException("array too small for " + out + "x" + in);
            return (o, dst) -> System.arraycopy(w, o * in, dst, 0, in);
        }

        static Rows of(MemorySegment w, int out, int in) {
            if ((long) out * in * 4 > w.byteSize()) throw new IllegalArgumentException("segment too small for " + out + "x" + in);
            return (o, dst) -> MemorySegment.copy(w, F32, (long) o * in * 4, dst, 0, in);
        }
    }
}
