package dev.xlmr.engine;

import java.util.List;

/**
 * Picks a {@link Kernels} implementation at run time, in the spirit of Lucene's VectorizationProvider.
 *
 * <ul>
 *   <li>{@code onednn}: oneDNN's matmul through FFM (the library ships in the {@code org.bytedeco:dnnl} jar): fp32
 *       on weights used in place from the mapped checkpoint, bf16 on the CPU's bf16 dot-product instructions
 *       (elsewhere bf16 weights go to the Vector API kernels), int8 as u8 x s8 with activations quantized per row;
 *       attention and element-wise work by the Vector API (or scalar) kernels;</li>
 *   <li>{@code vector}: pure Java Vector API; needs {@code --add-modules jdk.incubator.vector};</li>
 *   <li>{@code native}: OpenBLAS sgemm through FFM, with the Vector API (or scalar) kernels for element-wise work
 *       and BF16/INT8 weights;</li>
 *   <li>{@code scalar}: plain loops, always available.</li>
 * </ul>
 * {@link #best()} tries them in that order unless {@code -Dxlmr.kernels=onednn|vector|native|scalar} (or the
 * {@code XLMR_KERNELS} environment variable) forces one; an unusable choice falls back to the next with a
 * one-line warning on stderr. Threads: {@code -Dxlmr.threads} / {@code XLMR_THREADS}, default all cores.
 * OpenBLAS: {@code -Dxlmr.openblas=/path/libopenblas.so.0} (or {@code XLMR_OPENBLAS}) picks the library,
 * {@code -Dxlmr.openblas.core=SkylakeX} its kernels (see the {@code OPENBLAS_CORETYPE} environment variable).
 * oneDNN: {@code -Dxlmr.onednn=/path/libdnnl.so.3} (or {@code XLMR_ONEDNN}) picks the library,
 * {@code -Dxlmr.onednn.rows=auto|exact|bucket|runtime} how matmul primitives cover row counts (see DnnlKernels),
 * {@code -Dxlmr.onednn.unload=false} keeps mapped fp32 weights resident after their blocked copy is made.
 *
 * <pre>{@code
 * Kernels k = KernelProvider.best();
 * System.out.println("kernels: " + k.name());
 * }</pre>
 */
public final class KernelProvider {
    /** System property (and, upper-cased with '_', environment variable) naming the provider to use. */
    public static final String PROPERTY = "xlmr.kernels";
    /** System property (and environment variable {@code XLMR_THREADS}) with the thread count. */
    public static final String THREADS_PROPERTY = "xlmr.threads";
    /**
     * Names in order of preference. On the 2-core Zen 5 target (BENCHMARKS.md, "Engine"), {@code onednn} matched
     * {@code vector} on fp32 throughput, beat it on one-sentence latency and on load time (no packing: fp32
     * weights are read in place), and ran bf16 at 1.5x its speed; {@code vector} matched or beat OpenBLAS,
     * whose spinning worker threads collapse (to a few GFLOP/s for 32 rows) when the cores are shared.
     */
    public static final List<String> NAMES = List.of("onednn", "vector", "native", "scalar");

    private static volatile Kernels best;

    private KernelProvider() {}

    /**
     * The shared, process-wide kernels: forced or first available in {@link #NAMES}, {@link #defaultThreads()}
     * threads. Closing it does nothing.
     */
    public static Kernels best() {
        Kernels k = best;
        if (k == null) {
            synchronized (KernelProvider.class) {
                if ((k = best) == null) best = k = new SharedKernels(choose(setting(PROPERTY, null), defaultThreads()));
            }
        }
        return k;
    }

    /**
     * New kernels (close them when done). {@code name} is one of {@link #NAMES}, or {@code null}/{@code "auto"} for
     * the fastest available. An unavailable one falls back to the next in {@link #NAMES} with a warning.
     */
    public static Kernels create(String name, int threads) {
        return choose(name, threads);
    }

    /** Whether {@code name} can be created here, without fallback. */
    public static boolean isAvailable(String name) {
        try {
            switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "scalar" -> { return true; }
                case "native" -> { OpenBlas.get(); return true; }
                case "onednn" -> { OneDnn.get(); return true; }
                case "vector" -> { vector(1).close(); return true; }
                default -> { return false; }
            }
        } catch (Throwable t) {
            return false;
        }
    }

    /** {@code xlmr.threads} / {@code XLMR_THREADS}, else the number of available processors. */
    public static int defaultThreads() {
        String s = setting(THREADS_PROPERTY, null);
        if (s != null) {
            try {
                return Math.max(1, Integer.parseInt(s.trim()));
            } catch (NumberFormatException e) {
                warn("ignoring " + THREADS_PROPERTY + "=" + s);
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    private static Kernels choose(String name, int threads) {
        String n = name == null ? "auto" : name.trim().toLowerCase(java.util.Locale.ROOT);
        List<String> order = new java.util.ArrayList<>(NAMES);
        if (!n.equals("auto") && !n.isEmpty()) {
            if (!order.remove(n)) throw new IllegalArgumentException("unknown kernels '" + name + "', expected one of " + NAMES);
            order.addFirst(n); // the forced one, then the usual preference
        }
        for (int i = 0; i < order.size(); i++) {
            try {
                return make(order.get(i), threads);
            } catch (Throwable t) {
                warn(order.get(i) + " kernels unavailable (" + reason(t) + "), falling back to " + order.get(i + 1));
            }
        }
        throw new AssertionError("scalar kernels always work");
    }

    private static Kernels make(String name, int threads) throws Throwable {
        return switch (name) {
            case "scalar" -> new ScalarKernels();
            case "vector" -> vector(threads);
            case "native" -> new NativeBlasKernels(threads, delegateFor(threads));
            case "onednn" -> onednn(threads);
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** oneDNN's library loads (~0.13 s in a fresh JVM) while the delegate kernels start on another thread. */
    private static Kernels onednn(int threads) throws Throwable {
        var delegate = java.util.concurrent.CompletableFuture.supplyAsync(() -> delegateFor(threads),
                r -> Thread.ofPlatform().daemon().name("xlmr-kernels-delegate").start(r));
        try {
            OneDnn.get();
        } catch (Throwable t) {
            delegate.thenAccept(Kernels::close);
            throw t;
        }
        return new DnnlKernels(threads, delegate.join());
    }

    private static Kernels delegateFor(int threads) {
        try {
            return vector(threads);
        } catch (Throwable t) {
            return new ScalarKernels();
        }
    }

    /** Reflective, so that nothing here links against jdk.incubator.vector unless this succeeds. */
    private static Kernels vector(int threads) throws Throwable {
        try {
            Class<?> c = Class.forName("dev.xlmr.engine.VectorKernels");
            Kernels k = (Kernels) c.getDeclaredConstructor(int.class).newInstance(threads);
            float[] x = {1, 2}, y = new float[1]; // smoke test: fails here if the module is missing
            k.gemm(false, false, 1, 1, 2, 1f, x, 0, 2, x, 0, 1, 0f, y, 0, 1);
            if (y[0] != 5f) throw new IllegalStateException("vector kernels self-test failed");
            return k;
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
        } catch (LinkageError e) {
            throw new UnsupportedOperationException("add --add-modules=jdk.incubator.vector (" + e + ")", e);
        }
    }

    private static String reason(Throwable t) {
        String m = t.getMessage();
        return m == null ? t.toString() : m;
    }

    private static String setting(String property, String dflt) {
        String v = System.getProperty(property);
        if (v == null) v = System.getenv(property.toUpperCase(java.util.Locale.ROOT).replace('.', '_'));
        return v == null ? dflt : v;
    }

    static void warn(String msg) {
        System.err.println("xlmr: warning: " + msg);
    }
}
