package dev.xlmr.nova;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataRootTest {
    @TempDir
    Path tmp;
    Path base;
    Path outside;
    DataRoot root;

    @BeforeEach
    void setUp() throws IOException {
        base = Files.createDirectories(tmp.resolve("data")).toRealPath();
        outside = Files.createDirectories(tmp.resolve("secret")).toRealPath();
        Files.writeString(outside.resolve("passwd"), "x");
        Files.createDirectories(base.resolve("modules/xlm_roberta"));
        root = new DataRoot(base);
    }

    @Test
    void resolvesBothSeparators() throws IOException {
        Path expected = base.resolve("modules/xlm_roberta/xlm_roberta.trainer");
        assertEquals(expected, root.resolve("modules\\xlm_roberta\\xlm_roberta.trainer"));
        assertEquals(expected, root.resolve("modules/xlm_roberta/xlm_roberta.trainer"));
        assertEquals(expected, root.resolve("modules/./other/../xlm_roberta\\xlm_roberta.trainer"));
        assertEquals(base.resolve("new/dir/out.stream"), root.resolve("new/dir/out.stream"));
        assertEquals(expected, root.resolve(expected.toString()), "absolute paths inside the root are fine");
    }

    @Test
    void rejectsDotDotAndAbsoluteEscapes() {
        for (String uri : new String[] {"../secret/passwd", "..\\secret\\passwd", "modules/../../secret/passwd",
                "modules\\..\\..\\..\\etc\\passwd", "..", outside.resolve("passwd").toString(), "/etc/passwd",
                "C:\\Windows\\win.ini", "c:/x", "\\\\server\\share\\x", "", "  ", "a\0b"}) {
            assertThrows(PathEscapeException.class, () -> root.resolve(uri), uri);
        }
    }

    @Test
    void rejectsSymlinkEscapes() throws IOException {
        Files.createSymbolicLink(base.resolve("link"), outside);
        Files.createSymbolicLink(base.resolve("file-link"), outside.resolve("passwd"));
        Files.createSymbolicLink(base.resolve("dangling"), outside.resolve("not-yet"));
        Files.createSymbolicLink(base.resolve("inner"), base.resolve("modules"));
        assertThrows(PathEscapeException.class, () -> root.resolve("link/passwd"));
        assertThrows(PathEscapeException.class, () -> root.resolve("link\\new-file.stream"));
        assertThrows(PathEscapeException.class, () -> root.resolve("file-link"));
        assertThrows(PathEscapeException.class, () -> root.resolve("dangling"));
        assertEquals(base.resolve("inner/xlm_roberta/x.trainer"), root.resolve("inner/xlm_roberta/x.trainer"),
                "a link that stays inside is fine");
    }

    @Test
    void theRootItselfMayBeALink() throws IOException {
        Path link = Files.createSymbolicLink(tmp.resolve("root-link"), base);
        DataRoot viaLink = new DataRoot(link);
        assertEquals(base.resolve("a.stream"), viaLink.resolve("a.stream"));
        assertThrows(PathEscapeException.class, () -> viaLink.resolve("../secret/passwd"));
    }

    @Test
    void realFileFollowsLinksAndChecksTheTarget() throws IOException {
        Files.createDirectories(base.resolve("s"));
        Files.writeString(base.resolve("s/x.annotation"), "<annotation/>");
        Files.createSymbolicLink(base.resolve("s/x.annotation~"), outside.resolve("passwd"));
        // the header path passes resolve(); the data file next to it is a link out of the root
        Path header = root.resolve("s/x.annotation");
        assertEquals(base.resolve("s/x.annotation"), root.realFile(header));
        assertThrows(PathEscapeException.class, () -> root.realFile(base.resolve("s/x.annotation~")));
        assertThrows(java.nio.file.NoSuchFileException.class, () -> root.realFile(base.resolve("s/none")));
        Files.createSymbolicLink(base.resolve("s/inside~"), base.resolve("s/x.annotation"));
        assertEquals(base.resolve("s/x.annotation"), root.realFile(base.resolve("s/inside~")));
        assertEquals(false, root.isInside(base.resolve("s/x.annotation~")));
        assertEquals(true, root.isInside(base.resolve("s/inside~")));
    }
}
