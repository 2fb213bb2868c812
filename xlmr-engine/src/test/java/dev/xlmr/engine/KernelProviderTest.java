package dev.xlmr.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class KernelProviderTest {

    @Test
    void bestIsOneOfTheKnownProvidersAndShared() {
        Kernels k = KernelProvider.best();
        assertTrue(KernelProvider.NAMES.contains(k.name()), k.name());
        assertEquals(k, KernelProvider.best());
        k.close(); // ignored for the shared instance
        float[] y = new float[1];
        k.linear(new float[] {1, 2}, 1, 2, k.pack(new float[] {3, 4}, 1, 2, Precision.FP32), null, y, 1);
        assertEquals(11f, y[0]);
        // with --add-modules jdk.incubator.vector (surefire's setting) it is never the scalar fallback
        assertNotEquals("scalar", k.name());
    }

    @Test
    void createHonoursTheName() {
        try (Kernels s = KernelProvider.create("scalar", 4); Kernels v = KernelProvider.create("VECTOR", 2)) {
            assertEquals("scalar", s.name());
            assertEquals(1, s.threads());
            assertEquals("vector", v.name());
            assertEquals(2, v.threads());
        }
        assertThrows(IllegalArgumentException.class, () -> KernelProvider.create("cuda", 1));
    }

    @Test
    void nativeFallsBackWhenNoLibraryCanBeLoaded() throws Exception {
        // a JVM where OpenBLAS is forced to a missing file: warning, then the next provider
        Result r = run(List.of("--add-modules=jdk.incubator.vector", "-Dxlmr.openblas=/nonexistent/libopenblas.so"), "native");
        assertEquals(KernelProvider.isAvailable("onednn") ? "onednn" : "vector", r.stdout.strip(), r.toString());
        assertTrue(r.stderr.contains("xlmr: warning: native kernels unavailable"), r.stderr);
    }

    @Test
    void vectorFallsBackWithoutTheIncubatorModule() throws Exception {
        // no --add-modules, no oneDNN, no OpenBLAS: each falls back, one warning line each, no stack trace
        Result r = run(List.of("-Dxlmr.openblas=/nonexistent/libopenblas.so", "-Dxlmr.onednn=/nonexistent/libdnnl.so.3"), "vector");
        assertEquals("scalar", r.stdout.strip(), r.toString());
        assertTrue(r.stderr.contains("xlmr: warning: vector kernels unavailable"), r.stderr);
        assertTrue(r.stderr.contains("falling back to onednn"), r.stderr);
        assertTrue(r.stderr.contains("xlmr: warning: onednn kernels unavailable"), r.stderr);
        assertTrue(r.stderr.contains("xlmr: warning: native kernels unavailable"), r.stderr);
        assertTrue(r.stderr.lines().noneMatch(l -> l.startsWith("\tat ")), r.stderr);
        assertEquals(3, r.stderr.lines().filter(l -> l.startsWith("xlmr: warning:")).count(), r.stderr);
    }

    @Test
    void onednnFallsBackWhenNoLibraryCanBeLoaded() throws Exception {
        Result r = run(List.of("--add-modules=jdk.incubator.vector", "-Dxlmr.onednn=/nonexistent/libdnnl.so.3"), "onednn");
        assertEquals("vector", r.stdout.strip(), r.toString());
        assertTrue(r.stderr.contains("xlmr: warning: onednn kernels unavailable"), r.stderr);
    }

    @Test
    void onednnWorksWithoutTheIncubatorModule() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(KernelProvider.isAvailable("onednn"));
        Result r = run(List.of("-Dxlmr.kernels=onednn"), "best"); // bf16 rounding and element-wise work: scalar
        assertEquals("onednn", r.stdout.strip(), r.toString());
    }

    @Test
    void nativeWorksWithoutTheIncubatorModule() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(KernelProvider.isAvailable("native"));
        Result r = run(List.of("-Dxlmr.kernels=native"), "best"); // element-wise work then goes to scalar
        assertEquals("native", r.stdout.strip(), r.toString());
    }

    @Test
    void forcedScalarNeverLoadsTheVectorApi() throws Exception {
        Result r = run(List.of("-Dxlmr.kernels=scalar", "-verbose:class"), "best");
        assertTrue(r.stdout.lines().anyMatch(l -> l.equals("scalar")), r.toString());
        assertTrue(r.stdout.lines().noneMatch(l -> l.contains("jdk.incubator.vector")), "vector API loaded");
        assertTrue(r.stdout.lines().noneMatch(l -> l.contains("dev.xlmr.engine.VectorKernels")), "VectorKernels loaded");
    }

    record Result(int exit, String stdout, String stderr) {}

    /** Runs {@link ProviderMain} in a fresh JVM with the test class path. */
    static Result run(List<String> jvmArgs, String arg) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(ProviderMain.class.getName());
        cmd.add(arg);
        Process p = new ProcessBuilder(cmd).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        int exit = p.waitFor();
        Result r = new Result(exit, new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
        assertEquals(0, exit, r.toString());
        return r;
    }
}
