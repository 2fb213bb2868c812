package dev.xlmr.engine;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/** What the native providers share: unpacking shared libraries shipped in jars, and the C environment. */
final class NativeLibs {
    private NativeLibs() {}

    /**
     * Copies {@code libs} from the class-path folder {@code jarDir} into a stable per-version directory under
     * {@code java.io.tmpdir} (atomically, so parallel JVMs agree) and returns that directory, or null when the
     * jar is not on the class path ({@code probe}, one of the libs, is missing). The libraries' RUNPATH
     * {@code $ORIGIN} then finds their bundled dependencies beside them.
     */
    static Path extract(String jarDir, String prefix, String probe, String... libs) throws IOException {
        var url = NativeLibs.class.getClassLoader().getResource(jarDir + probe);
        if (url == null) return null;
        String tag = Integer.toHexString(url.toString().hashCode());
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), prefix + "-" + System.getProperty("user.name") + "-" + tag);
        Files.createDirectories(dir);
        extractInto(dir, jarDir, libs);
        return dir;
    }

    /**
     * Copies those of {@code libs} found in the class-path folder {@code jarDir} into {@code dir} (atomically; one
     * already there is kept) and returns how many {@code dir} now holds. Used for dependencies that another jar
     * ships (oneDNN's libOpenCL), so that the loader finds them through {@code $ORIGIN}.
     */
    static int extractInto(Path dir, String jarDir, String... libs) throws IOException {
        ClassLoader cl = NativeLibs.class.getClassLoader();
        int present = 0;
        for (String lib : libs) {
            Path target = dir.resolve(lib);
            if (Files.exists(target)) {
                present++;
                continue;
            }
            try (InputStream in = cl.getResourceAsStream(jarDir + lib)) {
                if (in == null) continue; // older jars lack some of the runtime libs
                Path tmp = Files.createTempFile(dir, lib, ".part");
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                present++;
            }
        }
        return present;
    }

    /** C-level setenv (System.getenv is a copy; native libraries read the process environment). */
    static void setenv(String name, String value) {
        try (Arena a = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            MethodHandle setenv = linker.downcallHandle(linker.defaultLookup().find("setenv").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
            int rc = (int) setenv.invokeExact(a.allocateFrom(name), a.allocateFrom(value), 1);
            if (rc != 0) KernelProvider.warn("setenv " + name + " failed");
        } catch (Throwable t) {
            KernelProvider.warn("cannot set " + name + ": " + t);
        }
    }

    /** What loads a binding; may throw anything (a missing library, a wrong version). */
    interface Loader<T> {
        T load() throws Throwable;
    }

    /** A native binding tried once per JVM: the bound value, or the exception saying why there is none. */
    static final class Once<T> {
        private final String what;
        private final Loader<T> loader;
        private volatile Object state; // T, or the Throwable explaining its absence

        Once(String what, Loader<T> loader) {
            this.what = what;
            this.loader = loader;
        }

        @SuppressWarnings("unchecked")
        T get() {
            Object o = state;
            if (o == null) {
                synchronized (this) {
                    if ((o = state) == null) {
                        try {
                            o = loader.load();
                        } catch (Throwable t) {
                            o = t;
                        }
                        state = o;
                    }
                }
            }
            if (o instanceof Throwable t) throw new UnsupportedOperationException(what + " unavailable: " + t.getMessage(), t);
            return (T) o;
        }
    }
}
