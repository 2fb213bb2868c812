package dev.xlmr.engine;

import java.lang.foreign.MemorySegment;

/**
 * Weights for {@link DnnlKernels}: the {@code [out][in]} matrix, which oneDNN reads as the {@code in x out} matrix
 * B. FP32 starts as it is ({@code ba} layout; from a mapped checkpoint in place, so loading copies nothing) and
 * is copied into oneDNN's blocked layout (5-30% faster matmuls, most for few rows) in the background from the
 * moment it is packed; a matmul that needs it sooner makes the copy itself (or waits for it). Every matmul runs
 * on the blocked copy, never on the plain layout: the two sum in different orders (a few ulps apart, e.g.
 * gemv on one row on AVX2), and a result must not depend on whether a repack had finished. BF16 is rounded (nearest even) straight into the blocked layout at load; INT8 is quantized per
 * output row ({@link Quant}) into the blocked s8 layout, with the scales and the rows' sums of the quantized
 * weights beside it.
 */
final class DnnlWeights extends Weights {
    /**
     * One storage of the matrix: the bytes, its memory descriptor and the memory object over it. The plain
     * layout gets its descriptor and memory object on first use, so that loading makes no oneDNN calls.
     */
    static final class Layout {
        private final MemorySegment data;
        private final boolean packed;
        private volatile MemorySegment md, memory; // null until bound

        Layout(MemorySegment md, MemorySegment memory, MemorySegment data, boolean packed) {
            this.md = md;
            this.memory = memory;
            this.data = data;
            this.packed = packed;
        }

        MemorySegment data() { return data; }
        boolean packed() { return packed; }
        MemorySegment md() { return md; }
        MemorySegment memory() { return memory; }

        void bind(MemorySegment md, MemorySegment memory) {
            this.md = md;
            this.memory = memory;
        }
    }

    /** FP32 in the {@code ba} layout; null for BF16, which keeps only the packed form. */
    final Layout plain;
    /** What matmuls use: the packed copy once made, {@link #plain} until then (and if it cannot be made). */
    volatile Layout current;
    /**
     * Whether {@link #current} is final: set (under this object's lock) once the packed copy exists or could not
     * be made, before the first matmul reads the weights; matmuls use only a settled layout.
     */
    volatile boolean settled;
    /** INT8: {@code [out]} scales and sums of each row's quantized weights; null otherwise. */
    final float[] scales;
    final int[] sums;

    /** BF16 weights kept as fp32 (rounded to bf16, widened back) for a CPU without oneDNN's bf16 matmul. */
    final boolean widened;

    DnnlWeights(Layout plain, Layout packed, int out, int in, Precision p, DnnlKernels owner) {
        this(plain, packed, out, in, p, owner, null, null, false);
    }

    DnnlWeights(Layout plain, Layout packed, int out, int in, Precision p, DnnlKernels owner, float[] scales, int[] sums,
                boolean widened) {
        super(out, in, p, owner);
        this.plain = plain;
        this.current = packed != null ? packed : plain;
        this.settled = packed != null;
        this.scales = scales;
        this.sums = sums;
        this.widened = widened;
    }

    @Override
    void row(int o, float[] dst) {
        if (plain != null) {
            MemorySegment.copy(plain.data(), F32, (long) o * in * 4, dst, 0, in);
        } else {
            ((DnnlKernels) owner).unpackRow(this, o, dst);
        }
    }
}
