package dev.xlmr.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Finds and binds oneDNN 3.x (its C API, through FFM) for {@link DnnlKernels}. Search order:
 * {@code -Dxlmr.onednn=/path/libdnnl.so.3} (or {@code XLMR_ONEDNN}); the library inside the
 * {@code org.bytedeco:dnnl:linux-x86_64} jar on the class path (extracted once, with its libgomp and the
 * {@code org.bytedeco:opencl} jar's libOpenCL.so.1 that it links against, to a
 * per-version directory under {@code java.io.tmpdir}); {@code libdnnl.so.3} on the loader path.
 *
 * <p>Only the handful of calls a matmul needs are bound. oneDNN's OpenMP runtime spins idle workers for a while
 * after each parallel region; on a machine whose cores the Java threads share, that spinning steals them, so
 * {@code GOMP_SPINCOUNT} is lowered unless the environment sets it (or {@code OMP_WAIT_POLICY}).
 */
final class OneDnn {
    // values from oneapi/dnnl/dnnl_types.h and dnnl_common_types.h (3.x)
    static final int F32 = 3, BF16 = 2, S32 = 4, S8 = 5, U8 = 6;
    /** {@code DNNL_RUNTIME_DIM_VAL}: a dimension given only at execution, by the memory objects. */
    static final long RUNTIME = Long.MIN_VALUE;
    static final int TAG_ANY = 1, TAG_AB = 3, TAG_BA = 14;
    static final int ARG_SRC = 1, ARG_DST = 17, ARG_WEIGHTS = 33, ARG_BIAS = 41, ARG_FROM = 1, ARG_TO = 17;
    static final int QUERY_IMPL_INFO_STR = 8, QUERY_WEIGHTS_MD = 131;
    private static final int ELTWISE_GELU_ERF = 49;
    private static final int ENGINE_CPU = 1, STREAM_DEFAULT = 1;
    private static final String JAR_DIR = "org/bytedeco/dnnl/linux-x86_64/";
    /**
     * The jar's libdnnl.so.3 is built with oneDNN's OpenCL GPU runtime and so links against libOpenCL.so.1, which a
     * machine without an OpenCL package lacks; the Khronos ICD loader from {@code org.bytedeco:opencl} (needs only
     * libc) goes beside it. On the CPU engine oneDNN calls none of it.
     */
    private static final String OPENCL_JAR_DIR = "org/bytedeco/opencl/linux-x86_64/", OPENCL = "libOpenCL.so.1";
    /** Every shared library this class extracts, as class-path resources (a test checks their ELF dependencies). */
    static final List<String> BUNDLED = List.of(JAR_DIR + "libdnnl.so.3", JAR_DIR + "libgomp.so.1", OPENCL_JAR_DIR + OPENCL);
    private static final String[] STATUS = {"success", "out_of_memory", "invalid_arguments", "unimplemented",
            "last_impl_reached", "runtime_error", "not_required", "invalid_graph", "invalid_graph_op",
            "invalid_shape", "invalid_data_type"};

    final String source;
    final String version;
    private final SymbolLookup lib, gomp;
    /** The other calls, bound on first use: each binding spins code (~5 ms in a fresh JVM), load needs none. */
    private volatile Calls calls;
    /** The CPU engine and one in-order stream; CPU execution is synchronous, the stream carries no state. */
    final MemorySegment engine, stream;

    private static final class Calls {
        final MethodHandle mdCreateWithTag, mdDestroy, mdGetSize, memoryCreate, memoryDestroy, mdClone, matmulPd,
                reorderPd, pdQueryMd, pdQuery, pdDestroy, primitiveCreate, primitiveExecute, primitiveDestroy,
                streamWait, ompSetNumThreads, attrCreate, attrDestroy, attrSetPostOps, postOpsCreate,
                postOpsAppendEltwise, postOpsDestroy, sgemm;

        Calls(SymbolLookup lib, SymbolLookup gomp) {
            Linker l = Linker.nativeLinker();
            attrCreate = h(l, lib, "dnnl_primitive_attr_create", JAVA_INT, ADDRESS);
            attrDestroy = h(l, lib, "dnnl_primitive_attr_destroy", JAVA_INT, ADDRESS);
            attrSetPostOps = h(l, lib, "dnnl_primitive_attr_set_post_ops", JAVA_INT, ADDRESS, ADDRESS);
            postOpsCreate = h(l, lib, "dnnl_post_ops_create", JAVA_INT, ADDRESS);
            postOpsAppendEltwise = h(l, lib, "dnnl_post_ops_append_eltwise", JAVA_INT, ADDRESS, JAVA_INT, JAVA_FLOAT, JAVA_FLOAT);
            postOpsDestroy = h(l, lib, "dnnl_post_ops_destroy", JAVA_INT, ADDRESS);
            mdCreateWithTag = h(l, lib, "dnnl_memory_desc_create_with_tag", JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
            mdDestroy = h(l, lib, "dnnl_memory_desc_destroy", JAVA_INT, ADDRESS);
            mdGetSize = h(l, lib, "dnnl_memory_desc_get_size", JAVA_LONG, ADDRESS);
            memoryCreate = h(l, lib, "dnnl_memory_create", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
            memoryDestroy = h(l, lib, "dnnl_memory_destroy", JAVA_INT, ADDRESS);
            mdClone = h(l, lib, "dnnl_memory_desc_clone", JAVA_INT, ADDRESS, ADDRESS);
            matmulPd = h(l, lib, "dnnl_matmul_primitive_desc_create", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
            reorderPd = h(l, lib, "dnnl_reorder_primitive_desc_create", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
            pdQueryMd = h(l, lib, "dnnl_primitive_desc_query_md", ADDRESS, ADDRESS, JAVA_INT, JAVA_INT);
            pdQuery = h(l, lib, "dnnl_primitive_desc_query", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS);
            pdDestroy = h(l, lib, "dnnl_primitive_desc_destroy", JAVA_INT, ADDRESS);
            primitiveCreate = h(l, lib, "dnnl_primitive_create", JAVA_INT, ADDRESS, ADDRESS);
            primitiveExecute = h(l, lib, "dnnl_primitive_execute", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
            primitiveDestroy = h(l, lib, "dnnl_primitive_destroy", JAVA_INT, ADDRESS);
            streamWait = h(l, lib, "dnnl_stream_wait", JAVA_INT, ADDRESS);
            // critical + heap access: Java float[]s go to sgemm without copies (the GC pins them for the call)
            sgemm = l.downcallHandle(lib.find("dnnl_sgemm").orElseThrow(() -> new UnsupportedOperationException(
                            "no symbol dnnl_sgemm")), FunctionDescriptor.of(JAVA_INT, JAVA_BYTE, JAVA_BYTE, JAVA_LONG,
                            JAVA_LONG, JAVA_LONG, JAVA_FLOAT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_FLOAT, ADDRESS,
                            JAVA_LONG), Linker.Option.critical(true));
            ompSetNumThreads = gomp.find("omp_set_num_threads")
                    .map(s -> l.downcallHandle(s, FunctionDescriptor.ofVoid(JAVA_INT))).orElse(null);
        }
    }

    private Calls c() {
        Calls c = calls;
        if (c == null) {
            synchronized (this) {
                if ((c = calls) == null) calls = c = new Calls(lib, gomp);
            }
        }
        return c;
    }

    private OneDnn(SymbolLookup lib, SymbolLookup gomp, String source) throws Throwable {
        this.source = source;
        this.lib = lib;
        this.gomp = gomp;
        Linker l = Linker.nativeLinker();
        MethodHandle engineCreate = h(l, lib, "dnnl_engine_create", JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG);
        MethodHandle streamCreate = h(l, lib, "dnnl_stream_create", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
        MethodHandle ver = l.downcallHandle(lib.find("dnnl_version").orElseThrow(), FunctionDescriptor.of(ADDRESS));
        MemorySegment v = ((MemorySegment) ver.invokeExact()).reinterpret(12);
        int major = v.get(JAVA_INT, 0), minor = v.get(JAVA_INT, 4), patch = v.get(JAVA_INT, 8);
        if (major != 3) throw new UnsupportedOperationException("oneDNN " + major + "." + minor + " found, 3.x needed: " + source);
        version = major + "." + minor + "." + patch;
        engine = created("dnnl_engine_create", p -> (int) engineCreate.invokeExact(p, ENGINE_CPU, 0L));
        MemorySegment e = engine;
        stream = created("dnnl_stream_create", p -> (int) streamCreate.invokeExact(p, e, STREAM_DEFAULT));
    }

    private static MethodHandle h(Linker l, SymbolLookup lib, String name, java.lang.foreign.MemoryLayout ret,
                                  java.lang.foreign.MemoryLayout... args) {
        MemorySegment s = lib.find(name).orElseThrow(() -> new UnsupportedOperationException("no symbol " + name));
        return l.downcallHandle(s, FunctionDescriptor.of(ret, args));
    }

    static void check(int status, String what) {
        if (status != 0) {
            String name = status > 0 && status < STATUS.length ? STATUS[status] : "status " + status;
            throw new IllegalStateException("oneDNN " + what + " failed: " + name);
        }
    }

    // ------------------------------------------------------------------ thin wrappers (status checked)

    /** A 2-D memory descriptor. Destroy with {@link #destroyMd}. */
    MemorySegment md(long rows, long cols, int dataType, int tag) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            MemorySegment dims = a.allocate(JAVA_LONG, 12);
            dims.setAtIndex(JAVA_LONG, 0, rows);
            dims.setAtIndex(JAVA_LONG, 1, cols);
            check((int) c().mdCreateWithTag.invokeExact(p, 2, dims, dataType, tag), "dnnl_memory_desc_create_with_tag");
            return p.get(ADDRESS, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    void destroyMd(MemorySegment md) {
        call(() -> (int) c().mdDestroy.invokeExact(md), "dnnl_memory_desc_destroy");
    }

    long size(MemorySegment md) {
        try {
            return (long) c().mdGetSize.invokeExact(md);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A memory object over {@code data} (not owned). Destroy with {@link #destroyMemory}. */
    MemorySegment memory(MemorySegment md, MemorySegment data) {
        return created("dnnl_memory_create", p -> (int) c().memoryCreate.invokeExact(p, md, engine, data));
    }

    void destroyMemory(MemorySegment m) {
        call(() -> (int) c().memoryDestroy.invokeExact(m), "dnnl_memory_destroy");
    }

    /**
     * A matmul primitive descriptor; {@code bias} may be {@link MemorySegment#NULL}; {@code gelu} applies the exact
     * (erf) GELU to the result as a fused post-op.
     */
    MemorySegment matmulPd(MemorySegment src, MemorySegment weights, MemorySegment bias, MemorySegment dst, boolean gelu) {
        Calls c = c();
        MemorySegment attr = MemorySegment.NULL, ops = MemorySegment.NULL;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            if (gelu) {
                check((int) c.attrCreate.invokeExact(p), "dnnl_primitive_attr_create");
                attr = p.get(ADDRESS, 0);
                check((int) c.postOpsCreate.invokeExact(p), "dnnl_post_ops_create");
                ops = p.get(ADDRESS, 0);
                check((int) c.postOpsAppendEltwise.invokeExact(ops, ELTWISE_GELU_ERF, 0f, 0f), "dnnl_post_ops_append_eltwise");
                check((int) c.attrSetPostOps.invokeExact(attr, ops), "dnnl_primitive_attr_set_post_ops");
            }
            check((int) c.matmulPd.invokeExact(p, engine, src, weights, bias, dst, attr), "dnnl_matmul_primitive_desc_create");
            return p.get(ADDRESS, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            MemorySegment o = ops, at = attr; // the pd keeps its own copy of the attributes
            if (!o.equals(MemorySegment.NULL)) call(() -> (int) c.postOpsDestroy.invokeExact(o), "dnnl_post_ops_destroy");
            if (!at.equals(MemorySegment.NULL)) call(() -> (int) c.attrDestroy.invokeExact(at), "dnnl_primitive_attr_destroy");
        }
    }

    MemorySegment reorderPd(MemorySegment src, MemorySegment dst) {
        return created("dnnl_reorder_primitive_desc_create", p -> (int) c().reorderPd.invokeExact(p, src, engine, dst, engine, MemorySegment.NULL));
    }

    /** A memory descriptor owned by {@code pd} (do not destroy it). */
    MemorySegment queryMd(MemorySegment pd, int what) {
        try {
            MemorySegment md = (MemorySegment) c().pdQueryMd.invokeExact(pd, what, 0);
            if (md.equals(MemorySegment.NULL)) throw new IllegalStateException("oneDNN: no memory descriptor " + what);
            return md;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A copy of {@code md} (e.g. one owned by a primitive descriptor) that the caller destroys. */
    MemorySegment cloneMd(MemorySegment md) {
        return created("dnnl_memory_desc_clone", p -> (int) c().mdClone.invokeExact(p, md));
    }

    /** Copies {@code from} (described by {@code fromMd}) into {@code to} in {@code toMd}'s layout and data type. */
    void reorder(MemorySegment fromMd, MemorySegment from, MemorySegment toMd, MemorySegment to, int threads) {
        MemorySegment pd = reorderPd(fromMd, toMd);
        MemorySegment prim = MemorySegment.NULL, src = MemorySegment.NULL, dst = MemorySegment.NULL;
        try (Arena a = Arena.ofConfined()) {
            prim = primitive(pd);
            src = memory(fromMd, from);
            dst = memory(toMd, to);
            execute(prim, threads, a.allocate(32, 16), ARG_FROM, src, ARG_TO, dst);
        } finally {
            if (!dst.equals(MemorySegment.NULL)) destroyMemory(dst);
            if (!src.equals(MemorySegment.NULL)) destroyMemory(src);
            if (!prim.equals(MemorySegment.NULL)) destroyPrimitive(prim);
            destroyPd(pd);
        }
    }

    /** The implementation oneDNN picked, e.g. {@code gemm:jit:bf16}. */
    String implementation(MemorySegment pd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check((int) c().pdQuery.invokeExact(pd, QUERY_IMPL_INFO_STR, 0, p), "dnnl_primitive_desc_query");
            return p.get(ADDRESS, 0).reinterpret(256).getString(0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    void destroyPd(MemorySegment pd) {
        call(() -> (int) c().pdDestroy.invokeExact(pd), "dnnl_primitive_desc_destroy");
    }

    MemorySegment primitive(MemorySegment pd) {
        return created("dnnl_primitive_create", p -> (int) c().primitiveCreate.invokeExact(p, pd));
    }

    void destroyPrimitive(MemorySegment prim) {
        call(() -> (int) c().primitiveDestroy.invokeExact(prim), "dnnl_primitive_destroy");
    }

    /**
     * Runs {@code prim} with {@code args} (pairs: index, memory) on {@code threads} OpenMP threads of the calling
     * thread's team, and waits for it. {@code argBuf} holds at least {@code 16 * pairs} bytes.
     */
    void execute(MemorySegment prim, int threads, MemorySegment argBuf, Object... args) {
        int n = args.length / 2;
        for (int i = 0; i < n; i++) {
            argBuf.set(JAVA_INT, 16L * i, (Integer) args[2 * i]);
            argBuf.set(ADDRESS, 16L * i + 8, (MemorySegment) args[2 * i + 1]);
        }
        try {
            Calls c = c();
            if (c.ompSetNumThreads != null) c.ompSetNumThreads.invokeExact(threads); // per calling thread in OpenMP
            check((int) c.primitiveExecute.invokeExact(prim, stream, n, argBuf), "dnnl_primitive_execute");
            check((int) c.streamWait.invokeExact(stream), "dnnl_stream_wait");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * {@code dnnl_sgemm} (row-major BLAS sgemm: {@code C = alpha op(A) op(B) + beta C}) on {@code threads} OpenMP
     * threads of the calling thread's team, straight on the Java arrays; the caller checks the bounds.
     */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
               MemorySegment b, int ldb, float beta, MemorySegment c, int ldc, int threads) {
        try {
            Calls cs = c();
            if (cs.ompSetNumThreads != null) cs.ompSetNumThreads.invokeExact(threads);
            check((int) cs.sgemm.invokeExact((byte) (transA ? 'T' : 'N'), (byte) (transB ? 'T' : 'N'), (long) m, (long) n,
                    (long) k, alpha, a, (long) lda, b, (long) ldb, beta, c, (long) ldc), "dnnl_sgemm");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Calls a creator whose first argument receives the created handle, checks its status, returns the handle. */
    private static MemorySegment created(String what, OutCall call) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check(call.run(p), what);
            return p.get(ADDRESS, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private interface OutCall {
        int run(MemorySegment out) throws Throwable;
    }

    private interface Call {
        int run() throws Throwable;
    }

    private static void call(Call c, String what) {
        try {
            check(c.run(), what);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    // ------------------------------------------------------------------ loading

    private static final NativeLibs.Once<OneDnn> ONCE = new NativeLibs.Once<>("oneDNN", OneDnn::load);

    /** The bound library, or an exception saying why there is none (tried once per JVM). */
    static OneDnn get() {
        return ONCE.get();
    }

    private static OneDnn load() throws Throwable {
        if (System.getenv("GOMP_SPINCOUNT") == null && System.getenv("OMP_WAIT_POLICY") == null) {
            // ~10k pause loops (some microseconds) instead of 300k: idle workers yield the cores to Java threads
            NativeLibs.setenv("GOMP_SPINCOUNT", System.getProperty("xlmr.onednn.spincount", "10000"));
        }
        List<String> tried = new ArrayList<>();
        String forced = System.getProperty("xlmr.onednn", System.getenv("XLMR_ONEDNN"));
        if (forced != null && !forced.isBlank()) {
            Path p = Path.of(forced);
            SymbolLookup lib = SymbolLookup.libraryLookup(p, Arena.global());
            return new OneDnn(lib, gomp(p.resolveSibling("libgomp.so.1")), forced);
        }
        try {
            Path dir = NativeLibs.extract(JAR_DIR, "xlmr-dnnl", "libdnnl.so.3", "libgomp.so.1", "libdnnl.so.3");
            if (dir != null) {
                if (NativeLibs.extractInto(dir, OPENCL_JAR_DIR, OPENCL) == 0)
                    tried.add("no " + OPENCL_JAR_DIR + OPENCL + " on the class path (org.bytedeco:opencl jar)");
                // libgomp first, by path: libdnnl's $ORIGIN RUNPATH then resolves to the same instance
                SymbolLookup gomp = SymbolLookup.libraryLookup(dir.resolve("libgomp.so.1"), Arena.global());
                SymbolLookup lib = SymbolLookup.libraryLookup(dir.resolve("libdnnl.so.3"), Arena.global());
                return new OneDnn(lib, gomp, "org.bytedeco:dnnl jar (" + dir.resolve("libdnnl.so.3") + ")");
            }
            tried.add("no " + JAR_DIR + " on the class path");
        } catch (Throwable t) {
            tried.add("jar: " + t);
        }
        try {
            SymbolLookup lib = SymbolLookup.libraryLookup("libdnnl.so.3", Arena.global());
            return new OneDnn(lib, gomp(Path.of("libgomp.so.1")), "libdnnl.so.3");
        } catch (Throwable t) {
            tried.add("libdnnl.so.3: " + t.getMessage());
        }
        throw new UnsupportedOperationException(String.join("; ", tried));
    }

    /** libgomp as loaded by libdnnl (by soname, dlopen returns the loaded one), or an empty lookup. */
    private static SymbolLookup gomp(Path p) {
        try {
            return p.getParent() != null && p.toFile().exists()
                    ? SymbolLookup.libraryLookup(p, Arena.global())
                    : SymbolLookup.libraryLookup(p.getFileName().toString(), Arena.global());
        } catch (IllegalArgumentException e) {
            return name -> java.util.Optional.empty(); // another OpenMP runtime: threads follow OMP_NUM_THREADS
        }
    }
}
