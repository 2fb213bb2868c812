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
 * sentences is compute-bound. On a CPU without them (oneDNN has no bf16 matmul there, e.g. AVX2 only) bf16
 * weights are widened back to fp32 for the fp32 matmul (same values as the Java kernels' bf16, fp32 speed). Large {@link #gemm}s (training's dense layers) run on oneDNN's sgemm; attention's small
 * ones and the element-wise steps go to {@code delegate} (the Vector API kernels when available, else the scalar ones).
 *
 * <p>INT8 weights (symmetric, one scale per output row, as {@link Quant} rounds them for every provider) run as
 * u8 x s8 matmuls with int32 results (VNNI {@code vpdpbusd}, or AVX2 {@code vpmaddubsw}): each activation row is
 * quantized on the fly to unsigned integers with its own scale and zero point ({@link #actLevels} levels over
 * {@code [min(0, min x), max(0, max x)]}), and the int32 sums are turned back into floats in Java:
 * {@code y[r][o] = s_r w_o (acc[r][o] - z_r sum_k q[o][k]) + b[o]}.
 *
 * <p>Activations live in Java arrays, oneDNN needs native memory: each call copies (fp32) or rounds (bf16)
 * {@code x} into a per-thread native buffer and copies {@code y} back, a few percent of the matmul's time. FP32
 * weights from a memory-mapped checkpoint are used in place, so loading packs nothing; from then on a background
 * thread copies them into oneDNN's blocked layout (see {@link DnnlWeights}) and then drops the mapped pages from
 * memory, so that the process does not hold both copies. Matmuls run only on the blocked copies (a first matmul
 * that comes before its weights' copy makes it, or waits for it), so one input gives the same bits whenever it
 * comes.
 */
final class DnnlKernels extends DelegatingKernels {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    private final OneDnn dnn;
    private final Bf16Writer bf16;
    private final Int8Rows int8; // quantizes activations, dequantizes sums
    private final int threads;
    private final Arena arena = Arena.ofShared(); // weight copies and bf16 roundings; freed by close
    private final List<DnnlWeights> all = new ArrayList<>();   // guarded by itself
    private final Map<Shape, Prim> prims = new HashMap<>();     // guarded by itself
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
    private volatile boolean closed;
    private java.util.concurrent.ExecutorService repacker; // made on first use, guarded by this

    /**
     * Per-thread native buffers, grown on demand. A grown buffer's predecessor is freed at once: left to the GC
     * (Arena.ofAuto) it waited for a full collection, as the Scratch lives in the old generation, so under a
     * server's varying batch sizes every superseded buffer stayed resident (issue 15). The current buffers are freed
     * when the Scratch is collected (its thread ended, or these kernels are gone): a thread may outlive the kernels.
     */
    static final class Scratch {
        private static final java.lang.ref.Cleaner CLEANER = java.lang.ref.Cleaner.create();
        MemorySegment src = MemorySegment.NULL, mid = MemorySegment.NULL, dst = MemorySegment.NULL, bias = MemorySegment.NULL;
        final MemorySegment args = Arena.ofAuto().allocate(16 * 4, 16);
        float[] rowScale = new float[0]; // INT8: per row of activations
        int[] rowZero = new int[0];
        private final Held held = new Held();

        Scratch() {
            CLEANER.register(this, held);
        }

        /** {@code s}, or a larger buffer (by at least half) that replaces it, {@code s}'s memory freed. */
        MemorySegment grow(MemorySegment s, long bytes) {
            if (s.byteSize() >= bytes) return s;
            MemorySegment n = held.allocate(Math.max(bytes, s.byteSize() * 3 / 2));
            held.free(s);
            return n;
        }

        /** Native bytes this Scratch holds now (for tests). */
        long bytes() {
            return held.bytes();
        }

        /** The arenas of the current buffers, one each; closing them all is the cleaning action. */
        private static final class Held implements Runnable {
            private final List<Arena> arenas = new ArrayList<>();
            private long bytes;

            synchronized MemorySegment allocate(long size) {
                Arena a = Arena.ofShared(); // shared: the cleaner's thread closes what is left
                MemorySegment m = a.allocate(size, 64);
                arenas.add(a);
                bytes += size;
                return m;
            }

            synchronized void free(MemorySegment s) {
                for (int i = 0; i < arenas.size(); i++) {
                    if (arenas.get(i).scope().equals(s.scope())) {
                        bytes -= s.byteSize();
                        arenas.remove(i).close();
                        return;
                    }
                }
            }

            synchronized long bytes() {
                return bytes;
            }

            @Override
            public synchronized void run() {
                for (Arena a : arenas) a.close();
                arenas.clear();
                bytes = 0;
            }
        }
    }

    /**
     * A matmul primitive is made for an exact number of rows: oneDNN's runtime-sized fp32 matmul (gemm:jit) runs
     * at half the speed of the fixed-size one (brgemm) below a few hundred rows, and making one costs ~0.5 ms,
     * which a forward pass over a batch repays many times. Beyond this many shapes, primitives are made per call
     * (from oneDNN's own cache) and destroyed after it.
     */
    static final int MAX_PRIMITIVES = 1024;

    /** Whether mapped weights leave memory once copied ({@code -Dxlmr.onednn.unload=false} keeps them). */
    private static final boolean UNLOAD = !"false".equals(System.getProperty("xlmr.onednn.unload"));

    /**
     * Row counts a primitive is made for ({@code -Dxlmr.onednn.rows}): {@code exact} (one per row count),
     * {@code bucket} (row counts rounded up by {@link #bucket}; the padding rows are zero and their results
     * dropped), {@code runtime} (one primitive for any row count) or {@code auto} (the default: per matmul
     * configuration, runtime when oneDNN picks the same implementation for a runtime row count as for a fixed
     * one, e.g. {@code gemm:jit} on AVX2, where creating a primitive is cheap anyway; else buckets, since a fixed
     * size runs faster (brgemm on AVX-512) but a one-pass workload meets a new row count in every batch and each
     * brgemm primitive costs milliseconds of JIT code generation).
     */
    enum RowPolicy { AUTO, EXACT, BUCKET, RUNTIME }

    private final RowPolicy rowPolicy;
    /** AUTO's choice per configuration (a Shape with 0 rows): true for a runtime row count. */
    private final Map<Shape, Boolean> runtimeRows = new HashMap<>(); // guarded by itself
    /** Whether oneDNN has a matmul for bf16 or u8 x s8 on this CPU (null until asked). */
    private volatile Boolean bf16Matmul, int8Matmul;
    /**
     * Levels of the u8 activations: 255 on CPUs with VNNI (or AMX) dot products, else 127, because AVX2's
     * {@code vpmaddubsw} adds two u8 x s8 products into a saturating int16 (2 x 255 x 127 overflows it).
     */
    final int actLevels;

    /** {@code rows} (rows >= 1) rounded up to a multiple of 8 up to 128, then of at most 1/8 of it, at most 64. */
    static int bucket(int rows) {
        int g = rows < 128 ? 8 : Math.min(64, Integer.highestOneBit(rows) / 8);
        return (int) Math.min(Integer.MAX_VALUE, ((long) rows + g - 1) / g * g);
    }

    private record Shape(long rows, int in, int out, int type, int dstType, boolean bias, boolean gelu, boolean packed) {
        Shape withRows(long r) { return new Shape(r, in, out, type, dstType, bias, gelu, packed); }
    }

    /** A primitive; its library-managed scratchpad is not safe for concurrent runs, so runs lock it. */
    private static final class Prim {
        final MemorySegment handle;
        Prim(MemorySegment handle) { this.handle = handle; }
    }

    DnnlKernels(int threads, Kernels delegate) {
        this(threads, delegate, rowPolicySetting());
    }

    DnnlKernels(int threads, Kernels delegate, RowPolicy rowPolicy) {
        super(delegate);
        this.dnn = OneDnn.get();
        this.bf16 = delegate instanceof Bf16Writer b ? b : new ScalarKernels();
        this.int8 = delegate instanceof Int8Rows q ? q : new ScalarKernels();
        this.threads = Math.max(1, threads);
        this.rowPolicy = rowPolicy;
        this.actLevels = cpuHasVnni() ? 255 : 127;
    }

    private static RowPolicy rowPolicySetting() {
        String policy = System.getProperty("xlmr.onednn.rows", "auto").trim();
        try {
            return RowPolicy.valueOf(policy.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            KernelProvider.warn("ignoring xlmr.onednn.rows=" + policy + " (auto, exact, bucket or runtime)");
            return RowPolicy.AUTO;
        }
    }

    private static boolean cpuHasVnni() {
        try {
            String flags = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/cpuinfo"));
            return flags.contains(" avx512_vnni") || flags.contains(" avx_vnni") || flags.contains(" amx_int8");
        } catch (java.io.IOException | RuntimeException e) {
            return false; // 127 levels are exact on every CPU
        }
    }

    @Override public String name() { return "onednn"; }

    @Override public int threads() { return threads; }

    @Override
    public String description() {
        String types = "fp32" + (Boolean.FALSE.equals(bf16Matmul) ? ", bf16 weights on fp32" : ", bf16")
                + (Boolean.FALSE.equals(int8Matmul) ? "" : ", int8");
        String other = Boolean.FALSE.equals(int8Matmul) ? ", int8" : "";
        return "onednn: oneDNN " + dnn.version + " matmul (" + types + ") from " + dnn.source + ", " + threads
                + " threads; attention, element-wise" + other + " by " + delegate.name();
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
        long n = check(out, in);
        if (n * 4 > w.byteSize()) throw new IllegalArgumentException("segment too small for " + out + "x" + in);
        if (precision == Precision.FP32) { // native memory (e.g. the mapped checkpoint) in place, a heap copy kept
            MemorySegment data = w.isNative() ? w : allocate(n * 4).copyFrom(w.asSlice(0, n * 4));
            DnnlWeights dw = register(new DnnlWeights.Layout(null, null, data, false), null, out, in, precision);
            repackSoon(dw);
            return dw;
        }
        if (precision == Precision.INT8) {
            if (!int8Matmul()) return delegate.pack(w, out, in, precision);
            return unload(packInt8(Weights.Rows.of(w, out, in), out, in), w, n);
        }
        if (!bf16Matmul()) return unload(packBf16AsF32(Weights.Rows.of(w, out, in), out, in), w, n);
        if (w.isNative()) return unload(packBf16(w, out, in), w, n);
        try (Arena tmp = Arena.ofConfined()) { // oneDNN reads native memory only
            return packBf16(tmp.allocate(n * 4, 64).copyFrom(w.asSlice(0, n * 4)), out, in);
        }
    }

    /** {@code packed}, after dropping the pages of {@code w} (the source it was copied from) as {@link #unload(MemorySegment)}. */
    private static Weights unload(Weights packed, MemorySegment w, long n) {
        unload(w.asSlice(0, n * 4));
        return packed;
    }

    /**
     * Drops a read-only mapping's pages from memory (madvise DONTNEED; clean file pages, so a later read faults them
     * back), e.g. the checkpoint's once its weights are copied: the process then does not hold both.
     */
    private static void unload(MemorySegment data) {
        if (UNLOAD && data.isMapped() && data.isReadOnly()) data.unload();
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

    /**
     * The layout every matmul on {@code w} uses: the blocked copy, made now on this thread (with all threads) if
     * the background has not made it yet; the plain layout only if the copy cannot be made. A plain layout gets
     * its descriptor and memory object here, on first use.
     */
    private DnnlWeights.Layout ready(DnnlWeights w) {
        DnnlWeights.Layout l = w.settled ? w.current : settle(w, threads);
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

    /**
     * Makes {@code w}'s blocked copy unless it exists (one thread at a time per weights: a caller finding the
     * background at work on it waits for it) and fixes the layout from then on; then drops a mapped source's
     * pages (madvise DONTNEED; clean file pages, so a later read, e.g. {@link Weights#get}, faults them back).
     */
    private DnnlWeights.Layout settle(DnnlWeights w, int threads) {
        synchronized (w) {
            if (!w.settled) {
                MemorySegment data = w.plain.data();
                if (closed) throw new IllegalStateException("onednn kernels are closed");
                if (!data.scope().isAlive()) { // oneDNN would hold raw pointers: refuse rather than read freed memory
                    throw new IllegalStateException("the memory these weights were packed from has been released");
                }
                try {
                    w.current = repack(data, w.out(), w.in(), OneDnn.F32, threads);
                    unload(data);
                } catch (RuntimeException | Error e) {
                    // closed meanwhile (a background repack outliving its encoder): nothing to tell
                    if (!closed) KernelProvider.warn("onednn: keeping fp32 weights unpacked (" + e.getMessage() + ")");
                }
                w.settled = true;
            }
            return w.current;
        }
    }

    private DnnlWeights.Layout layout(MemorySegment md, MemorySegment data, boolean packed) {
        try {
            return new DnnlWeights.Layout(md, dnn.memory(md, data), data, packed);
        } catch (RuntimeException e) {
            dnn.destroyMd(md);
            throw e;
        }
    }

    /** Whether oneDNN has a bf16 matmul here (AVX512-BF16, AMX or AVX-NE-CONVERT); warns once if not. */
    boolean bf16Matmul() {
        Boolean b = bf16Matmul;
        if (b == null) {
            bf16Matmul = b = supported(OneDnn.BF16, OneDnn.BF16, OneDnn.F32);
            if (!b) KernelProvider.warn("onednn: this CPU has no bf16 matmul in oneDNN (it needs AVX512-BF16, AMX or"
                    + " AVX-NE-CONVERT); bf16-rounded weights run on the fp32 matmul, no faster than fp32 here"
                    + " (int8 is the faster reduced precision on this CPU)");
        }
        return b;
    }

    /** Whether oneDNN has a u8 x s8 matmul with int32 results here (any x86-64 with SSE4.1). */
    boolean int8Matmul() {
        Boolean b = int8Matmul;
        if (b == null) {
            int8Matmul = b = supported(OneDnn.U8, OneDnn.S8, OneDnn.S32);
            if (!b) KernelProvider.warn("onednn: no int8 matmul in oneDNN on this CPU; int8 weights run on the "
                    + delegate.name() + " kernels");
        }
        return b;
    }

    private boolean supported(int srcType, int weightsType, int dstType) {
        MemorySegment any = dnn.md(64, 64, weightsType, OneDnn.TAG_ANY);
        try {
            return withPd(new Shape(64, 64, 64, srcType, dstType, false, false, true), any, pd -> true);
        } catch (IllegalStateException e) {
            if (e.getMessage() != null && e.getMessage().endsWith("unimplemented")) return false;
            throw e;
        } finally {
            dnn.destroyMd(any);
        }
    }

    /**
     * INT8: rows quantized as {@link Quant} does for every provider (one scale per output row), then reordered
     * by oneDNN into the blocked s8 layout of the u8 x s8 matmul; the row sums of {@code q} correct for the
     * activations' zero points.
     */
    private DnnlWeights packInt8(Weights.Rows rows, int out, int in) {
        float[] scales = new float[out], buf = new float[in];
        int[] sums = new int[out];
        MemorySegment from = dnn.md(in, out, OneDnn.S8, OneDnn.TAG_BA);
        MemorySegment md = blockedMd(in, out, OneDnn.S8);
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment q = tmp.allocate((long) out * in, 64);
            byte[] qr = new byte[in];
            for (int o = 0; o < out; o++) {
                rows.row(o, buf);
                float sc = scales[o] = Quant.int8Scale(buf, in);
                sums[o] = quantize(buf, in, sc, qr);
                MemorySegment.copy(qr, 0, q, ValueLayout.JAVA_BYTE, (long) o * in, in);
            }
            MemorySegment data = allocate(dnn.size(md));
            dnn.reorder(from, q, md, data, threads);
            DnnlWeights w = new DnnlWeights(null, layout(md, data, true), out, in, Precision.INT8, this, scales, sums, false);
            synchronized (all) {
                all.add(w);
            }
            return w;
        } catch (RuntimeException | Error e) {
            dnn.destroyMd(md);
            throw e;
        } finally {
            dnn.destroyMd(from);
        }
    }

    /** {@code q[i] = Quant.toInt8(w[i], scale)} for {@code i < n}; returns their sum. A loop of its own compiles well. */
    private static int quantize(float[] w, int n, float scale, byte[] q) {
        int sum = 0;
        for (int i = 0; i < n; i++) sum += q[i] = Quant.toInt8(w[i], scale);
        return sum;
    }

    /**
     * BF16 where oneDNN has no bf16 matmul: the weights rounded to bf16 (as {@link Quant} rounds them for every
     * provider) and widened back, in the fp32 blocked layout, for the fp32 matmul. Same values as the Java kernels'
     * bf16 (bf16 weights, fp32 activations and sums) at the fp32 matmul's speed, which is twice theirs on AVX2.
     */
    private DnnlWeights packBf16AsF32(Weights.Rows rows, int out, int in) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment f32 = tmp.allocate((long) out * in * 4, 64);
            float[] buf = new float[in];
            for (int o = 0; o < out; o++) {
                rows.row(o, buf);
                roundToBf16(buf, in);
                MemorySegment.copy(buf, 0, f32, FLOAT, (long) o * in * 4, in);
            }
            DnnlWeights w = new DnnlWeights(null, repack(f32, out, in, OneDnn.F32, threads), out, in, Precision.BF16, this,
                    null, null, true);
            synchronized (all) {
                all.add(w);
            }
            return w;
        }
    }

    private static void roundToBf16(float[] x, int n) {
        for (int i = 0; i < n; i++) x[i] = Quant.fromBf16(Quant.toBf16(x[i]));
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

    /** The weights layout oneDNN's matmul chooses (asked for 64 rows; measured to serve 1 to 1,400 rows alike). */
    private MemorySegment blockedMd(int in, int out, int type) {
        MemorySegment any = dnn.md(in, out, type, OneDnn.TAG_ANY);
        int src = type == OneDnn.S8 ? OneDnn.U8 : type, dst = type == OneDnn.S8 ? OneDnn.S32 : OneDnn.F32;
        try {
            return withPd(new Shape(64, in, out, src, dst, false, false, true), any,
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
     * queued when they are packed: loading stays a mapping, and the copies are usually made by the time a first
     * request needs them (the tokenizer loads meanwhile); one that comes sooner makes the copy itself.
     */
    private void repackSoon(DnnlWeights w) {
        try {
            background().execute(() -> {
                try {
                    if (!closed && !w.settled && w.plain.data().scope().isAlive()) settle(w, 1);
                } catch (RuntimeException | Error e) {
                    if (!closed) KernelProvider.warn("onednn: repacking fp32 weights failed (" + e.getMessage() + ")");
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

    /**
     * Row {@code o} of weights kept only in a blocked layout: the whole matrix back to fp32 (bf16) or s8 (int8,
     * then scaled), for inspection only.
     */
    void unpackRow(DnnlWeights w, int o, float[] dst) {
        DnnlWeights.Layout l = w.current;
        boolean int8 = w.precision == Precision.INT8;
        MemorySegment md = dnn.md(w.in(), w.out(), int8 ? OneDnn.S8 : OneDnn.F32, OneDnn.TAG_BA);
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment plain = tmp.allocate((long) w.in() * w.out() * (int8 ? 1 : 4), 64);
            dnn.reorder(l.md(), l.data(), md, plain, 1);
            if (int8) {
                for (int i = 0; i < w.in(); i++) dst[i] = plain.get(ValueLayout.JAVA_BYTE, (long) o * w.in() + i) * w.scales[o];
            } else {
                MemorySegment.copy(plain, Weights.F32, (long) o * w.in() * 4, dst, 0, w.in());
            }
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
        if (bias != null && bias.length < out) throw new IndexOutOfBoundsException("bias too small");
        DnnlWeights dw = (DnnlWeights) w;
        Scratch s = scratch.get();
        if (dw.precision == Precision.INT8) {
            linearInt8(x, rows, dw, bias, y, s);
            return;
        }
        int srcType = srcType(dw);
        int padded = cover(dw, shape(dw, srcType, OneDnn.F32, bias != null, false), rows);
        load(x, rows, padded, in, srcType, s);
        s.dst = s.grow(s.dst, (long) padded * out * 4);
        matmul(dw, padded, s.src, srcType, bias, s.dst, OneDnn.F32, false, s);
        MemorySegment.copy(s.dst, FLOAT, 0, y, 0, rows * out);
    }

    /** Both matmuls here, the [rows][inter] intermediate (GELU fused into the first) never leaves native memory. */
    @Override
    public void geluFeedForward(float[] x, int rows, int in, Weights up, float[] upBias, float[] mid, int inter,
                                Weights down, float[] downBias, float[] y) {
        if (up.owner != this || down.owner != this || up.precision == Precision.INT8 || down.precision == Precision.INT8) {
            super.geluFeedForward(x, rows, in, up, upBias, mid, inter, down, downBias, y); // linear, GELU, linear
            return;
        }
        up.check(this, in, inter);
        down.check(this, inter, in);
        if (rows <= 0) return;
        if ((long) rows * in > x.length || (long) rows * in > y.length) throw new IndexOutOfBoundsException("x or y too small");
        if ((upBias != null && upBias.length < inter) || (downBias != null && downBias.length < in))
            throw new IndexOutOfBoundsException("bias too small");
        DnnlWeights u = (DnnlWeights) up, d = (DnnlWeights) down;
        Scratch s = scratch.get();
        int srcType = srcType(u);
        int midType = srcType(d); // the first matmul rounds for the second
        // one row count for both: the second reads the first's padding rows
        int padded = Math.max(cover(u, shape(u, srcType, midType, upBias != null, true), rows),
                cover(d, shape(d, midType, OneDnn.F32, downBias != null, false), rows));
        load(x, rows, padded, in, srcType, s);
        s.mid = s.grow(s.mid, (long) padded * inter * (midType == OneDnn.BF16 ? 2 : 4));
        s.dst = s.grow(s.dst, (long) padded * in * 4);
        matmul(u, padded, s.src, srcType, upBias, s.mid, midType, true, s);
        matmul(d, padded, s.mid, midType, downBias, s.dst, OneDnn.F32, false, s);
        MemorySegment.copy(s.dst, FLOAT, 0, y, 0, rows * in);
    }

    private static int srcType(DnnlWeights w) {
        return switch (w.precision) {
            case FP32 -> OneDnn.F32;
            case BF16 -> w.widened ? OneDnn.F32 : OneDnn.BF16;
            case INT8 -> OneDnn.U8;
        };
    }

    /** The configuration of a matmul on {@code w} as it is now (0 rows; see {@link #cover}). */
    private Shape shape(DnnlWeights w, int srcType, int dstType, boolean bias, boolean gelu) {
        return new Shape(0, w.in(), w.out(), srcType, dstType, bias, gelu, ready(w).packed());
    }

    /** The rows a matmul of this configuration computes for {@code rows} real ones (more: zero padding rows). */
    private int cover(DnnlWeights w, Shape config, int rows) {
        return switch (rowPolicy) {
            case EXACT -> rows;
            case BUCKET -> bucket(rows);
            case AUTO, RUNTIME -> runtimeRows(config, ready(w).md()) ? rows : rowPolicy == RowPolicy.AUTO ? bucket(rows) : rows;
        };
    }

    /**
     * Whether this configuration runs as one primitive for any row count: under AUTO when oneDNN picks the same
     * implementation for a runtime row count as for 64 fixed rows, under RUNTIME when it has one at all (decided
     * once per configuration).
     */
    private boolean runtimeRows(Shape config, MemorySegment weightsMd) {
        if (rowPolicy == RowPolicy.EXACT || rowPolicy == RowPolicy.BUCKET) return false;
        synchronized (runtimeRows) {
            Boolean b = runtimeRows.get(config);
            if (b != null) return b;
        }
        String runtime;
        try {
            runtime = withPd(config.withRows(OneDnn.RUNTIME), weightsMd, dnn::implementation);
        } catch (IllegalStateException e) { // unimplemented
            runtime = null;
        }
        boolean use = runtime != null
                && (rowPolicy == RowPolicy.RUNTIME || runtime.equals(withPd(config.withRows(64), weightsMd, dnn::implementation)));
        synchronized (runtimeRows) {
            runtimeRows.putIfAbsent(config, use);
            return runtimeRows.get(config);
        }
    }

    /**
     * {@code x[0..rows*in)} into the thread's native source buffer as {@code type} (fp32 copied, bf16 rounded),
     * rows {@code rows..padded} zeroed.
     */
    private void load(float[] x, int rows, int padded, int in, int type, Scratch s) {
        boolean half = type == OneDnn.BF16;
        int e = half ? 2 : 4;
        s.src = s.grow(s.src, (long) padded * in * e);
        if (half) {
            bf16.toBf16(x, 0, rows * in, s.src, 0);
        } else {
            MemorySegment.copy(x, 0, s.src, FLOAT, 0, rows * in);
        }
        if (padded > rows) s.src.asSlice((long) rows * in * e, (long) (padded - rows) * in * e).fill((byte) 0);
    }

    /**
     * INT8 {@code y = x W^T + bias}: rows of {@code x} quantized to u8 (own scale and zero point each), one
     * u8 x s8 matmul with int32 sums, then scaled back (and the zero points' share taken off); both element-wise
     * halves by the delegate's {@link Int8Rows} (vectorized and split over threads by the vector kernels).
     */
    private void linearInt8(float[] x, int rows, DnnlWeights w, float[] bias, float[] y, Scratch s) {
        int in = w.in(), out = w.out();
        int padded = cover(w, shape(w, OneDnn.U8, OneDnn.S32, false, false), rows);
        s.src = s.grow(s.src, (long) padded * in);
        if (s.rowScale.length < rows) {
            s.rowScale = new float[rows];
            s.rowZero = new int[rows];
        }
        int8.quantizeRows(x, rows, in, actLevels, s.rowScale, s.rowZero, s.src);
        if (padded > rows) s.src.asSlice((long) rows * in, (long) (padded - rows) * in).fill((byte) 0);
        s.dst = s.grow(s.dst, (long) padded * out * 4);
        matmul(w, padded, s.src, OneDnn.U8, null, s.dst, OneDnn.S32, false, s);
        int8.dequantize(s.dst, rows, out, s.rowScale, s.rowZero, w.sums, w.scales, bias, y);
    }

    /**
     * {@code dst = act(src W^T + bias)} on native buffers holding {@code rows} rows (padding included), {@code act}
     * the exact GELU or nothing; the primitive is made for that row count or, if its configuration runs with a
     * runtime one, for any.
     */
    private void matmul(DnnlWeights w, int rows, MemorySegment src, int srcType, float[] bias, MemorySegment dst,
                        int dstType, boolean gelu, Scratch s) {
        int in = w.in(), out = w.out();
        if (bias != null && bias.length < out) throw new IndexOutOfBoundsException("bias too small");
        if (closed) throw new IllegalStateException("onednn kernels are closed");
        DnnlWeights.Layout layout = ready(w);
        if (!layout.data().scope().isAlive()) { // oneDNN holds raw pointers: refuse rather than read freed memory
            throw new IllegalStateException("the memory these weights were packed from has been released");
        }
        MemorySegment srcMd = dnn.md(rows, in, srcType, OneDnn.TAG_AB);
        MemorySegment dstMd = dnn.md(rows, out, dstType, OneDnn.TAG_AB);
        MemorySegment biasMd = MemorySegment.NULL, srcMem = MemorySegment.NULL, dstMem = MemorySegment.NULL,
                biasMem = MemorySegment.NULL;
        try {
            srcMem = dnn.memory(srcMd, src);
            dstMem = dnn.memory(dstMd, dst);
            if (bias != null) {
                s.bias = s.grow(s.bias, (long) out * 4);
                MemorySegment.copy(bias, 0, s.bias, FLOAT, 0, out);
                biasMd = dnn.md(1, out, OneDnn.F32, OneDnn.TAG_AB);
                biasMem = dnn.memory(biasMd, s.bias);
            }
            Shape config = new Shape(0, in, out, srcType, dstType, bias != null, gelu, layout.packed());
            boolean runtime = runtimeRows(config, layout.md());
            Shape shape = config.withRows(runtime ? OneDnn.RUNTIME : rows);
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

    /** Primitives made so far and still cached (for tests: buckets and runtime rows keep this small). */
    int primitives() {
        synchronized (prims) {
            return prims.size();
        }
    }

    /** A matmul primitive for {@code shape}. */
    private MemorySegment primitive(Shape shape, MemorySegment weightsMd) {
        return withPd(shape, weightsMd, dnn::primitive);
    }

    /** The implementation oneDNN picks for {@code rows} rows times these weights, e.g. {@code brg_matmul:avx512_core_bf16}. */
    String implementation(Weights w, int rows) {
        DnnlWeights dw = (DnnlWeights) w;
        int srcType = srcType(dw);
        DnnlWeights.Layout l = ready(dw);
        return withPd(new Shape(rows, w.in(), w.out(), srcType, srcType == OneDnn.U8 ? OneDnn.S32 : OneDnn.F32, false,
                false, l.packed()), l.md(), dnn::implementation);
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

    /**
     * Products of at least this many multiply-adds go to oneDNN's sgemm (training's dense layers and their
     * gradients); smaller ones (attention's per-head products, 512 x 512 x 64 at most, which the training path runs
     * side by side through {@link #gemmSingleThread}) stay on the delegate, the Vector API kernels.
     */
    static final long SGEMM_MIN_MACS = (1L << 24) + 1;

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float beta, float[] c, int cOff, int ldc) {
        gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, false);
    }

    @Override
    public void gemmSingleThread(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                 float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                 float beta, float[] c, int cOff, int ldc) {
        gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, true);
    }

    private void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float beta, float[] c, int cOff, int ldc, boolean single) {
        if ((long) m * n * k < SGEMM_MIN_MACS) {
            if (single) {
                delegate.gemmSingleThread(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            } else {
                delegate.gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            }
            return;
        }
        // bounds: native code would read or write past the arrays silently
        NativeBlasKernels.checkMatrix(a, aOff, transA ? k : m, transA ? m : k, lda);
        NativeBlasKernels.checkMatrix(b, bOff, transB ? n : k, transB ? k : n, ldb);
        NativeBlasKernels.checkMatrix(c, cOff, m, n, ldc);
        dnn.sgemm(transA, transB, m, n, k, alpha, MemorySegment.ofArray(a).asSlice(aOff * 4L), lda,
                MemorySegment.ofArray(b).asSlice(bOff * 4L), ldb, beta, MemorySegment.ofArray(c).asSlice(cOff * 4L), ldc,
                single ? 1 : threads);
    }
}
