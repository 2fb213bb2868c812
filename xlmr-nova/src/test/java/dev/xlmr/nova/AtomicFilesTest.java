package dev.xlmr.nova;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aFailedWriteLeavesTheOldPairUntouched() throws IOException {
        Path h = dir.resolve("x.stream");
        SsiStream.ofFloats(1, 1, new float[] {1, 2}).write(h, FileType.BINARY);
        byte[] oldHeader = Files.readAllBytes(h);
        byte[] oldData = Files.readAllBytes(dir.resolve("x.stream~"));
        IOException boom = assertThrows(IOException.class, () -> AtomicFiles.writePair(h, out -> {
            out.write(new byte[100_000]); // some data reached the temporary file
            throw new IOException("disk full");
        }, () -> "<stream/>".getBytes(StandardCharsets.UTF_8)));
        assertEquals("disk full", boom.getMessage());
        assertEquals(List.of("x.stream", "x.stream~"), names(), "temporary files are removed");
        assertEquals(new String(oldHeader, StandardCharsets.UTF_8), Files.readString(h));
        assertEquals(oldData.length, Files.size(dir.resolve("x.stream~")));
    }

    @Test
    void headerAndDataPathsAreDerivedEitherWay() {
        Path h = Path.of("a", "t.annotation");
        assertEquals(Path.of("a", "t.annotation~"), AtomicFiles.dataPath(h));
        assertEquals(h, AtomicFiles.headerPath(Path.of("a", "t.annotation~")));
        assertEquals(h, AtomicFiles.headerPath(h));
    }
}
