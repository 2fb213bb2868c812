package dev.xlmr.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link #linear} through oneDNN's matmul (FFM downcalls into the library from the {@code org.bytedeco:dnnl} jar):
 * fp32, and bf16 weights with bf16 activations and fp32 accumulation on the CPU's bf16 dot-product instructions
 * (AVX512-BF16 / AMX), which do twice the work of fp32 FMAs per cycle. That is what the reduced-precision mode
 * needs to run faster than fp32: bf16 weights widened to fp32 in Java only halve memory traffic, and a batch of 32
 * sentences is compute-bound. INT8 weights, attention's {@link #gemm} and the element-wise steps go to
 * {@code delegate} (the Vector API kernels when available, else the scalar ones).
 *
 * <p>Activations live in Java arrays, oneDNN needs native memory: each call copies (fp32) or rounds (bf16)
 * {@code x} into a per-thread native buffer and copies {@code y} back, a few percent of the matmul's time. FP32
 * weights from a memory-mapped checkpoint are used in place, so loading packs nothing; after their first use a
 * background thread copies them into oneDNN's blocked layout (see {@link DnnlWeights}).
 */
final class DnnlKernels extends DelegatingKernels {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    private final OneDnn dnn;
    private final Bf16Writer bf16;
    private final int threads;
    private final Arena arena = Arena.ofShared(); // weight copies and bf16 roundings; freed by close
    private final List<DnnlWeights> all = new ArrayList<>();   // guarded by itself
    private final Map<Shape, Prim> prims = new HashMap<>();     // guarded by itself
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
    private volatile boolean closed;
    /** Whether this CPU has a oneDNN bf16 matmul (AVX512-BF16, AMX, AVX-NE-CONVERT); null until first asked. */
    private volatile Boolean nativeBf16;
    private java.util.concurrent.ExecutorService repacker; // made on first use, guarded by this

    /** Per-thread native buffers, grown on demand and freed by the GC (a thread may outlive these kernels). */
    private static final class Scratch {
        MemorySegment src = MemorySegment.NULL, mid = MemorySegment.NULL, dst = MemorySegment.NULL, bias = MemorySegment.NULL;
        final MemorySegment args = Arena.ofAuto().allocate(16 * 4, 16);

        static MemorySegment grow(MemorySegment s, long bytes) {
            return s.byteSize() >= bytes ? s : Arena.ofAuto().allocate(Math.max(bytes, s.byteSize() * 3 / 2), 64);
        }
    }

    /**
     * A matmul primitive is made for an exact number of rows: oneDNN's runtime-sized fp32 matmul (gemm:jit) runs
     * at half the speed of the fixed-size one (brgemm) below a few hundred rows, and making one costs ~0.5 ms,
     * which a forward pass over a batch repays many times. Beyond this many shapes, primitives are made per call
     * (from oneDNN's own cache) and destroyed after it.
     */
    static final int MAX_PRIMITIVES = 1024;

    private record Shape(int rows, int in, int out, int type, int dstType, boolean bias, boolean gelu, boolean packed) {}

    /** A primitive; its library-managed scratchpad is not safe for concurrent runs, so runs lock it. */
    private static final class Prim {
        final MemorySegment handle;
        Prim(MemorySegment handle) { this.handle = handle; }
    }

    DnnlKernels(int threads, Kernels delegate) {
        super(delegate);
        this.dnn = OneDnn.get();
        this.bf16 = delegate instanceof Bf16Writer b ? b : new ScalarKernels();
        this.threads = Math.max(1, threads);
    }

    @Override public String name() { return "onednn"; }

    @Override public int threads() { return threads; }

    @Override
    public String description() {
        return "onednn: oneDNN " + dnn.version + " matmul (fp32" + (nativeBf16() ? ", bf16" : "") + ") from " + dnn.source
                + ", " + threads + " threads; attention, element-wise, int8" + (nativeBf16() ? "" : ", bf16 (no bf16 matmul on this CPU)")
                + " by " + delegate.name();
    }

    @Override
    public void drain() {
        java.util.concurrent.ExecutorService bg;
        synchronized (this) {
            bg = repacker;
        }
        if (bg != null) {
            try {
                bg.submit(() -> {}).get(); // single thread: everything queued before it is done
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closing: close waits for it
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }
        super.drain();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        java.util.concurrent.ExecutorService bg;
        synchronized (this) {
            bg = repacker;
        }
        if (bg != null) { // a repack in flight writes into the arena: let it finish first
            bg.shutdown();
            try {
                bg.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (prims) {
            for (Prim p : prims.values()) {
                synchronized (p) {
                    dnn.destroyPrimitive(p.handle);
                }
            }
            prims.clear();
        }
        synchronized (all) {
            for (DnnlWeights w : all) {
                for (DnnlWeights.Layout l : new DnnlWeights.Layout[] {w.plain, w.current == w.plain ? null : w.current}) {
                    if (l != null && l.memory() != null) {
                        dnn.destroyMemory(l.memory());
                        dnn.destroyMd(l.md());
                    }
                }
            }
            all.clear();
        }
        arena.close();
        super.close();
    }

    // ---------------------------------------------------------------- packing

    @Override
    public Weights pack(float[] w, int out, int in, Precision precision) {
        if ((long) out * in > w.length) throw new IllegalArgumentException("array too small for " + out + "x" + in);
        return pack(MemorySegment.ofArray(w), out, in, precision); // a heap segment: copied below
    }

    @Override
    public Weights pack(MemorySegment w, int out, int in, Precision precision) {
        // no oneDNN bf16 matmul on this CPU (e.g. AVX2 only): bf16 weights widened in Java by the delegate
        if (precision == Precision.INT8 || precision == Precision.BF16 && !nativeBf16()) return delegate.pack(w, out, in, precision);
        long n = check(out, in);
        if (n * 4 > w.byteSize()) throw new IllegalArgumentException("segment too small for " + out + "x" + in);
        if (precision == Precision.FP32) { // native memory (e.g. the mapped checkpoint) in place, a heap copy kept
            MemorySegment data = w.isNative() ? w : allocate(n * 4).copyFrom(w.asSlice(0, n * 4));
            return register(new DnnlWeights.Layout(null, null, data, false), null, out, in, precision);
        }
        if (w.isNative()) return packBf16(w, out, in);
        try (Arena tmp = Arena.ofConfined()) { // oneDNN reads native memory only
            return packBf16(tmp.allocate(n * 4, 64).copyFrom(w.asSlice(0, n * 4)), out, in);
        }
    }

    private static long check(int out, int in) {
        if (out <= 0 || in <= 0) throw new IllegalArgumentException("bad shape " + out + "x" + in);
        long n = (long) out * in;
        if (n > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("weights too large: " + out + "x" + in);
        return n;
    }

    private MemorySegment allocate(long bytes) {
        if (closed) throw new IllegalStateException("onednn kernels are closed");
        return arena.allocate(bytes, 64);
    }

    /** The weights' current layout, its descriptor and memory object made if this is its first use. */
    private DnnlWeights.Layout ready(DnnlWeights w) {
        DnnlWeights.Layout l = w.current;
        if (l.memory() == null) {
            synchronized (l) {
                if (l.memory() == null) {
                    MemorySegment md = dnn.md(w.in(), w.out(), OneDnn.F32, OneDnn.TAG_BA);
                    try {
                        l.bind(md, dnn.memory(md, l.data()));
                    } catch (RuntimeException e) {
                        dnn.destroyMd(md);
                        throw e;
                    }
                }
            }
        }
        return l;
    }

    private DnnlWeights.Layout layout(MemorySegment md, MemorySegment data, boolean packed) {
        try {
            return new DnnlWeights.Layout(md, dnn.memory(md, data), data, packed);
        } catch (RuntimeException e) {
            dnn.destroyMd(md);
            throw e;
        }
    }

    /** fp32 {@code ba} data (native) rounded by oneDNN into the blocked bf16 layout its matmul reads fastest. */
    private DnnlWeights packBf16(MemorySegment f32, int out, int in) {
        DnnlWeights.Layout packed = repack(f32, out, in, OneDnn.BF16, threads);
        return register(null, packed, out, in, Precision.BF16);
    }

    /** A copy of fp32 {@code ba} data in the blocked layout (and data type) oneDNN picks for this matmul. */
    private DnnlWeights.Layout repack(MemorySegment f32, int out, int in, int type, int threads) {
        MemorySegment from = dnn.md(in, out, OneDnn.F32, OneDnn.TAG_BA);
        MemorySegment md = blockedMd(in, out, type);
        try {
            MemorySegment data = allocate(dnn.size(md));
            dnn.reorder(from, f32, md, data, threads);
            return layout(md, data, true);
        } catch (RuntimeException | Error e) {
            dnn.destroyMd(md);
            throw e;
        } finally {
            dnn.destroyMd(from);
        }
    }

    /**
     * Whether oneDNN implements a bf16 matmul here. It has none on CPUs without bf16 instructions (it answers
     * "unimplemented"), where bf16 weights then go to the delegate instead of failing at load.
     */
    boolean nativeBf16() {
        Boolean b = nativeBf16;
        if (b == null) {
            try {
                dnn.destroyMd(blockedMd(64, 64, OneDnn.BF16));
                b = true;
            } catch (IllegalStateException e) {
                if (!String.valueOf(e.getMessage()).endsWith("unimplemented")) throw e;
                b = false;
            }
            nativeBf16 = b;
        }
        return b;
    }

    /** The weights layout oneDNN's matmul chooses (asked for 64 rows; measured to serve 1 to 1,400 rows alike). */
    private MemorySegment blockedMd(int in, int out, int type) {
        MemorySegment any = dnn.md(in, out, type, OneDnn.TAG_ANY);
        try {
            return withPd(new Shape(64, in, out, type, OneDnn.F32, false, false, true), any,
                    pd -> dnn.cloneMd(dnn.queryMd(pd, OneDnn.QUERY_WEIGHTS_MD)));
        } finally {
            dnn.destroyMd(any);
        }
    }

    private DnnlWeights register(DnnlWeights.Layout plain, DnnlWeights.Layout packed, int out, int in, Precision p) {
        DnnlWeights w = new DnnlWeights(plain, packed, out, in, p, this);
        synchronized (all) {
            all.add(w);
        }
        return w;
    }

    /**
     * FP32 weights get their blocked copy on a background thread (one OpenMP thread, so requests keep a core),
     * started by their first matmul: loading stays a mapping, and the first requests are not delayed.
     */
    private void repackLater(DnnlWeights w) {
        if (!w.packing.compareAndSet(false, true)) return;
        try {
            background().execute(() -> {
                try {
                    if (!closed && w.plain.data().scope().isAlive()) {
                        w.current = repack(w.plain.data(), w.out(), w.in(), OneDnn.F32, 1);
                    }
                } catch (RuntimeException | Error e) {
                    if (!closed) KernelProvider.warn("onednn: keeping fp32 weights unpacked (" + e.getMessage() + ")");
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    private synchronized java.util.concurrent.ExecutorService background() {
        if (closed) throw new java.util.concurrent.RejectedExecutionException("closed");
        if (repacker == null) {
            repacker = java.util.concurrent.Executors.newSingleThreadExecutor(
                    r -> Thread.ofPlatform().daemon().name("xlmr-onednn-repack").unstarted(r));
        }
        return repacker;
    }

    /** Row {@code o} of weights kept only in a blocked layout: the whole matrix back to fp32 (inspection only). */
    void unpackRow(DnnlWeights w, int o, float[] dst) {
        DnnlWeights.Layout l = w.current;
        MemorySegment md = dnn.md(w.in(), w.out(), OneDnn.F32, OneDnn.TAG_BA);
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment f32 = tmp.allocate((long) w.in() * w.out() * 4, 64);
            dnn.reorder(l.md(), l.data(), md, f32, 1);
            MemorySegment.copy(f32, Weights.F32, (long) o * w.in() * 4, dst, 0, w.in());
        } finally {
            dnn.destroyMd(md);
        }
    }

    // ---------------------------------------------------------------- matmul

    @Override
    public void linear(float[] x, int rows, int in, Weights w, float[] bias, float[] y, int out) {
        if (w.owner == delegate) {
            delegate.linear(x, rows, in, w, bias, y, out);
            return;
        }
        w.check(this, in, out);
        if (rows <= 0) return;
        if ((long) rows * in > x.length || (long) rows * out > y.length) throw new IndexOutOfBoundsException("x or y too small");
        DnnlWeights dw = (DnnlWeights) w;
        Scratch s = scratch.get();
        int srcType = load(x, rows * in, dw, s);
        s.dst = Scratch.grow(s.dst, (long) rows * out * 4);
        matmul(dw, rows, s.src, srcType, bias, s.dst, OneDnn.F32, false, s);
        MemorySegment.copy(s.dst, FLOAT, 0, y, 0, rows * out);
    }

    /** Both matmuls here, the [rows][inter] intermediate (GELU fused into the first) never leaves native memory. */
    @Override
    public void geluFeedForward(float[] x, int rows, int in, Weights up, float[] upBias, float[] mid, int inter,
                                Weights down, float[] downBias, float[] y) {
        if (up.owner != this || down.owner != this) {
            super.geluFeedForward(x, rows, in, up, upBias, mid, inter, down, downBias, y);
            return;
        }
        up.check(this, in, inter);
        down.check(this, inter, in);
        if (rows <= 0) return;
        if ((long) rows * in > x.length || (long) rows * in > y.length) throw new IndexOutOfBoundsException("x or y too small");
        DnnlWeights u = (DnnlWeights) up, d = (DnnlWeights) down;
        Scratch s = scratch.get();
        int srcType = load(x, rows * in, u, s);
        int midType = d.precision == Precision.BF16 ? OneDnn.BF16 : OneDnn.F32; // the first matmul rounds for the second
        s.mid = Scratch.grow(s.mid, (long) rows * inter * (midType == OneDnn.BF16 ? 2 : 4));
        s.dst = Scratch.grow(s.dst, (long) rows * in * 4);
        matmul(u, rows, s.src, srcType, upBias, s.mid, midType, true, s);
        matmul(d, rows, s.mid, midType, downBias, s.dst, OneDnn.F32, false, s);
        MemorySegment.copy(s.dst, FLOAT, 0, y, 0, rows * in);
    }

    /** {@code x[0..n)} into the thread's native source buffer, rounded to bf16 for bf16 weights; returns the type. */
    private int load(float[] x, int n, DnnlWeights w, Scratch s) {
        boolean half = w.precision == Precision.BF16;
        s.src = Scratch.grow(s.src, (long) n * (half ? 2 : 4));
        if (half) {
            bf16.toBf16(x, 0, n, s.src, 0);
        } else {
            MemorySegment.copy(x, 0, s.src, FLOAT, 0, n);
        }
        return half ? OneDnn.BF16 : OneDnn.F32;
    }

    /** {@code dst = act(src W^T + bias)} on native buffers, {@code act} the exact GELU or nothing. */
    private void matmul(DnnlWeights w, int rows, MemorySegment src, int srcType, float[] bias, MemorySegment dst,
                        int dstType, boolean gelu, Scratch s) {
        int in = w.in(), out = w.out();
        if (bias != null && bias.length < out) throw new IndexOutOfBoundsException("bias too small");
        if (closed) throw new IllegalStateException("onednn kernels are closed");
        DnnlWeights.Layout layout = ready(w);
        if (!layout.data().scope().isAlive()) { // oneDNN holds raw pointers: refuse rather than read freed memory
            throw new IllegalStateException("the memory these weights were packed from has been released");
        }
        if (!layout.packed()) repackLater(w);
        MemorySegment srcMd = dnn.md(rows, in, srcType, OneDnn.TAG_AB);
        MemorySegment dstMd = dnn.md(rows, out, dstType, OneDnn.TAG_AB);
        MemorySegment biasMd = MemorySegment.NULL, srcMem = MemorySegment.NULL, dstMem = MemorySegment.NULL,
                biasMem = MemorySegment.NULL;
        try {
            srcMem = dnn.memory(srcMd, src);
            dstMem = dnn.memory(dstMd, dst);
            if (bias != null) {
                s.bias = Scratch.grow(s.bias, (long) out * 4);
                MemorySegment.copy(bias, 0, s.bias, FLOAT, 0, out);
                biasMd = dnn.md(1, out, OneDnn.F32, OneDnn.TAG_AB);
                biasMem = dnn.memory(biasMd, s.bias);
            }
            Shape shape = new Shape(rows, in, out, srcType, dstType, bias != null, gelu, layout.packed());
            Prim cached;
            synchronized (prims) {
                cached = prims.get(shape);
            }
            Prim prim = cached != null ? cached : new Prim(primitive(shape, layout.md()));
            try {
                Object[] args = bias != null
                        ? new Object[] {OneDnn.ARG_SRC, srcMem, OneDnn.ARG_WEIGHTS, layout.memory(), OneDnn.ARG_BIAS, biasMem,
                                OneDnn.ARG_DST, dstMem}
                        : new Object[] {OneDnn.ARG_SRC, srcMem, OneDnn.ARG_WEIGHTS, layout.memory(), OneDnn.ARG_DST, dstMem};
                synchronized (prim) {
                    dnn.execute(prim.handle, threads, s.args, args);
                }
            } finally {
                if (cached == null && !keep(shape, prim)) dnn.destroyPrimitive(prim.handle);
            }
        } finally {
            for (MemorySegment m : new MemorySegment[]{srcMem, dstMem, biasMem}) {
                if (!m.equals(MemorySegment.NULL)) dnn.destroyMemory(m);
            }
            for (MemorySegment md : new MemorySegment[]{srcMd, dstMd, biasMd}) {
                if (!md.equals(MemorySegment.NULL)) dnn.destroyMd(md);
            }
        }
    }

    /** Caches a new primitive unless the cache is full or another thread cached the same shape first. */
    private boolean keep(Shape shape, Prim p) {
        synchronized (prims) {
            if (closed || prims.size() >= MAX_PRIMITIVES || prims.containsKey(shape)) return false;
            prims.put(shape, p);
            return true;
        }
    }

    /** A matmul primitive for {@code shape}. */
    private MemorySegment primitive(Shape shape, MemorySegment weightsMd) {
        return withPd(shape, weightsMd, dnn::primitive);
    }

    /** The implementation oneDNN picks for {@code rows} rows times these weights, e.g. {@code brg_matmul:avx512_core_bf16}. */
    String implementation(Weights w, int rows) {
        DnnlWeights dw = (DnnlWeights) w;
        int srcType = dw.precision == Precision.BF16 ? OneDnn.BF16 : OneDnn.F32;
        return withPd(new Shape(rows, w.in(), w.out(), srcType, OneDnn.F32, false, false, true), ready(dw).md(),
                dnn::implementation);
    }

    /** Runs {@code use} on the matmul primitive descriptor for {@code shape} (destroyed after, with its descriptors). */
    private <T> T withPd(Shape shape, MemorySegment weightsMd, java.util.function.Function<MemorySegment, T> use) {
        MemorySegment src = dnn.md(shape.rows(), shape.in(), shape.type(), OneDnn.TAG_AB);
        MemorySegment dst = dnn.md(shape.rows(), shape.out(), shape.dstType(), OneDnn.TAG_AB);
        MemorySegment bias = shape.bias() ? dnn.md(1, shape.out(), OneDnn.F32, OneDnn.TAG_AB) : MemorySegment.NULL;
        try {
            MemorySegment pd = dnn.matmulPd(src, weightsMd, bias, dst, shape.gelu());
            try {
                return use.apply(pd);
            } finally {
                dnn.destroyPd(pd);
            }
        } finally {
            dnn.destroyMd(src);
            dnn.destroyMd(dst);
            if (shape.bias()) dnn.destroyMd(bias);
        }
    }

    // ---------------------------------------------------------------- delegated (and element-wise: DelegatingKernels)

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float beta, float[] c, int cOff, int ldc) {
        delegate.gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }
}
