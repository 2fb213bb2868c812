package dev.xlmr.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Finds and binds OpenBLAS. Search order: {@code -Dxlmr.openblas=/path/libopenblas.so} (or {@code XLMR_OPENBLAS});
 * the library inside the {@code org.bytedeco:openblas:linux-x86_64} jar on the class path (extracted once to a
 * per-version directory under {@code java.io.tmpdir}, its RUNPATH {@code $ORIGIN} finds the bundled libgfortran);
 * Debian's {@code libopenblas0-pthread}/{@code -openmp}; finally {@code libopenblas.so.0} on the loader path.
 */
final class OpenBlas {
    static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;
    private static final String JAR_DIR = "org/bytedeco/openblas/linux-x86_64/";
    private static final String[] JAR_LIBS = {"libgcc_s.so.1", "libquadmath.so.0", "libgfortran.so.5", "libopenblas.so.0"};
    /** Every shared library this class extracts, as class-path resources (a test checks their ELF dependencies). */
    static final List<String> BUNDLED = java.util.Arrays.stream(JAR_LIBS).map(l -> JAR_DIR + l).toList();
    private static final String[] SYSTEM_LIBS = {
            "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
            "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
            "/usr/lib/x86_64-linux-gnu/libopenblas.so.0"};

    final String source;
    final MethodHandle sgemm;
    final MethodHandle setThreads;
    final String config;
    final String core;
    private int threads = -1; // last value given to openblas_set_num_threads (a process-wide setting)

    private OpenBlas(SymbolLookup lib, String source) throws Throwable {
        this.source = source;
        Linker linker = Linker.nativeLinker();
        // critical + heap access: Java float[]s go to sgemm without copies (the GC pins them for the call)
        sgemm = linker.downcallHandle(find(lib, "cblas_sgemm"), FunctionDescriptor.ofVoid(
                        JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT,
                        ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT),
                Linker.Option.critical(true));
        setThreads = linker.downcallHandle(find(lib, "openblas_set_num_threads"), FunctionDescriptor.ofVoid(JAVA_INT));
        Optional<MemorySegment> cfg = lib.find("openblas_get_config");
        config = cfg.isEmpty() ? "?" : ((MemorySegment) linker.downcallHandle(cfg.get(), FunctionDescriptor.of(ADDRESS))
                .invokeExact()).reinterpret(256).getString(0);
        Optional<MemorySegment> cn = lib.find("openblas_get_corename");
        core = cn.isEmpty() ? "?" : ((MemorySegment) linker.downcallHandle(cn.get(), FunctionDescriptor.of(ADDRESS))
                .invokeExact()).reinterpret(64).getString(0);
        if (config.contains("USE64BITINT")) throw new UnsupportedOperationException("64-bit-int OpenBLAS: " + source);
    }

    /** Sets OpenBLAS's (global) thread count when it differs from the last call's. */
    synchronized void threads(int n) {
        if (n == threads) return;
        try {
            setThreads.invokeExact(n);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        threads = n;
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new UnsupportedOperationException("no symbol " + name));
    }

    private static final NativeLibs.Once<OpenBlas> ONCE = new NativeLibs.Once<>("OpenBLAS", OpenBlas::load);

    /** The bound library, or an exception saying why there is none (tried once per JVM). */
    static OpenBlas get() {
        return ONCE.get();
    }

    private static OpenBlas load() throws Throwable {
        applyCoreProperty();
        List<String> tried = new ArrayList<>();
        String forced = System.getProperty("xlmr.openblas", System.getenv("XLMR_OPENBLAS"));
        if (forced != null && !forced.isBlank()) return open(Path.of(forced), forced);
        try {
            Path dir = NativeLibs.extract(JAR_DIR, "xlmr-openblas", "libopenblas.so.0", JAR_LIBS);
            if (dir != null) {
                Path p = dir.resolve("libopenblas.so.0");
                return open(p, "org.bytedeco:openblas jar (" + p + ")");
            }
            tried.add("no " + JAR_DIR + " on the class path");
        } catch (Throwable t) {
            tried.add("jar: " + t);
        }
        for (String s : SYSTEM_LIBS) {
            Path p = Path.of(s);
            if (Files.exists(p)) {
                try {
                    return open(p, s);
                } catch (Throwable t) {
                    tried.add(s + ": " + t);
                }
            }
        }
        try {
            return new OpenBlas(SymbolLookup.libraryLookup("libopenblas.so.0", Arena.global()), "libopenblas.so.0");
        } catch (Throwable t) {
            tried.add("libopenblas.so.0: " + t.getMessage());
        }
        throw new UnsupportedOperationException(String.join("; ", tried));
    }

    /**
     * {@code -Dxlmr.openblas.core=NAME} sets OPENBLAS_CORETYPE, which DYNAMIC_ARCH builds read when loaded.
     * OpenBLAS 0.3.30 detects Zen 5 as Cooperlake (AVX-512) by itself, but an OPENBLAS_CORETYPE inherited from
     * the environment (this project's dev machines set {@code Haswell}: slower AVX2 kernels) takes precedence;
     * the property overrides both.
     */
    private static void applyCoreProperty() {
        String forced = System.getProperty("xlmr.openblas.core");
        if (forced != null && !forced.isBlank()) NativeLibs.setenv("OPENBLAS_CORETYPE", forced.trim());
    }

    private static OpenBlas open(Path p, String source) throws Throwable {
        return new OpenBlas(SymbolLookup.libraryLookup(p, Arena.global()), source);
    }

}
