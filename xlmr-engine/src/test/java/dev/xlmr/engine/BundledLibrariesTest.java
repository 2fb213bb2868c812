package dev.xlmr.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The native libraries the engine extracts load on a machine with nothing installed by hand: each one's ELF dynamic
 * section (DT_NEEDED) names only libraries shipped beside it or part of a minimal system. {@code ldd} on a developer
 * machine proves nothing, since it resolves packages installed by hand (libOpenCL.so.1 came with python3-torch).
 */
class BundledLibrariesTest {
    /** What every glibc-based x86-64 Linux has without extra packages. */
    private static final Set<String> MINIMAL_SYSTEM = Set.of("libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0",
            "librt.so.1", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2");

    private static boolean linuxX64() {
        return System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux")
                && Set.of("amd64", "x86_64").contains(System.getProperty("os.arch"));
    }

    @Test
    void everyBundledLibraryNeedsOnlyBundledOrMinimalSystemLibraries() throws IOException {
        Assumptions.assumeTrue(linuxX64(), "the bundled libraries are linux-x86_64 builds");
        List<String> bundled = new ArrayList<>(OneDnn.BUNDLED);
        bundled.addAll(OpenBlas.BUNDLED);
        Set<String> names = new LinkedHashSet<>();
        for (String r : bundled) names.add(r.substring(r.lastIndexOf('/') + 1));
        List<String> problems = new ArrayList<>();
        for (String resource : bundled) {
            List<String> needed = needed(read(resource));
            for (String n : needed) {
                if (!names.contains(n) && !MINIMAL_SYSTEM.contains(n)) problems.add(resource + " needs " + n);
            }
        }
        assertEquals(List.of(), problems, "libraries a new machine lacks");
    }

    @Test
    void oneDnnsOpenClDependencyIsShipped() throws IOException {
        Assumptions.assumeTrue(linuxX64());
        // the regression this guards: libdnnl.so.3 links against libOpenCL.so.1, which only an OpenCL package provides
        String dnnl = OneDnn.BUNDLED.getFirst();
        assertTrue(needed(read(dnnl)).contains("libOpenCL.so.1"), "premise: " + needed(read(dnnl)));
        assertTrue(OneDnn.BUNDLED.stream().anyMatch(r -> r.endsWith("/libOpenCL.so.1")));
    }

    @Test
    void automaticChoiceOnLinuxX64IsOnednnWithoutWarnings() throws Exception {
        Assumptions.assumeTrue(linuxX64());
        var r = KernelProviderTest.run(List.of("--add-modules=jdk.incubator.vector"), "best");
        assertEquals("onednn", r.stdout().strip(), r.toString());
        assertFalse(r.stderr().contains("xlmr: warning"), r.stderr());
    }

    @Test
    void parserReadsTheNeededEntriesOfAKnownLibrary() throws IOException {
        Assumptions.assumeTrue(linuxX64());
        // libgomp in the oneDNN jar is known to need exactly libc (readelf -d)
        assertEquals(List.of("libc.so.6"), needed(read(OneDnn.BUNDLED.get(1))));
    }

    private static byte[] read(String resource) throws IOException {
        try (InputStream in = BundledLibrariesTest.class.getClassLoader().getResourceAsStream(resource)) {
            assertNotNull(in, resource + " is not on the class path");
            return in.readAllBytes();
        }
    }

    /** The DT_NEEDED names of a little-endian ELF64 shared library. */
    static List<String> needed(byte[] elf) {
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(0) != 0x464c457f || elf[4] != 2 || elf[5] != 1) throw new IllegalArgumentException("not a little-endian ELF64 file");
        long phoff = b.getLong(0x20);
        int phentsize = Short.toUnsignedInt(b.getShort(0x36)), phnum = Short.toUnsignedInt(b.getShort(0x38));
        long dynOff = -1, dynSize = 0;
        List<long[]> loads = new ArrayList<>(); // {vaddr, offset, filesz}
        for (int i = 0; i < phnum; i++) {
            int p = Math.toIntExact(phoff + (long) i * phentsize);
            int type = b.getInt(p);
            if (type == 1) loads.add(new long[] {b.getLong(p + 16), b.getLong(p + 8), b.getLong(p + 32)});
            if (type == 2) {
                dynOff = b.getLong(p + 8);
                dynSize = b.getLong(p + 32);
            }
        }
        if (dynOff < 0) return List.of(); // static: needs nothing
        long strtab = -1;
        List<Long> neededOffsets = new ArrayList<>();
        for (long e = dynOff; e + 16 <= dynOff + dynSize; e += 16) {
            long tag = b.getLong((int) e), val = b.getLong((int) e + 8);
            if (tag == 0) break;
            if (tag == 1) neededOffsets.add(val);
            if (tag == 5) strtab = val;
        }
        long strOff = -1;
        for (long[] l : loads) if (strtab >= l[0] && strtab < l[0] + l[2]) strOff = strtab - l[0] + l[1];
        if (strOff < 0) throw new IllegalArgumentException("DT_STRTAB outside every PT_LOAD segment");
        List<String> out = new ArrayList<>();
        for (long o : neededOffsets) {
            int start = Math.toIntExact(strOff + o), end = start;
            while (elf[end] != 0) end++;
            out.add(new String(elf, start, end - start, StandardCharsets.US_ASCII));
        }
        return out;
    }
}
