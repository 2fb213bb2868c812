package dev.xlmr.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CacheLayoutTest {
    @TempDir
    Path tmp;

    @Test
    void copiesWhereSymlinksAreNotAllowed() throws IOException {
        CacheLayout cache = new CacheLayout(tmp, false);
        Path blob = cache.blob("org/name", "abc");
        Files.createDirectories(blob.getParent());
        Files.writeString(blob, "content");
        Path pointer = cache.pointer("org/name", "0".repeat(40), "1_Pooling/config.json");
        cache.link(blob, pointer);
        assertFalse(Files.isSymbolicLink(pointer));
        assertEquals("content", Files.readString(pointer));
        assertEquals(tmp.resolve("models--org--name/snapshots/" + "0".repeat(40) + "/1_Pooling/config.json"), pointer);
    }

    @Test
    void replacesADanglingLink() throws IOException {
        CacheLayout cache = new CacheLayout(tmp);
        Path blob = cache.blob("m", "e1");
        Files.createDirectories(blob.getParent());
        Files.writeString(blob, "x");
        Path pointer = cache.pointer("m", "1".repeat(40), "config.json");
        Files.createDirectories(pointer.getParent());
        Files.createSymbolicLink(pointer, Path.of("../../blobs/gone"));
        assertFalse(CacheLayout.present(pointer));
        cache.link(blob, pointer);
        assertTrue(CacheLayout.present(pointer));
        assertEquals(Path.of("../../blobs/e1"), Files.readSymbolicLink(pointer));
    }

    @Test
    void refsAndRevisions() throws IOException {
        CacheLayout cache = new CacheLayout(tmp);
        String commit = "a".repeat(40);
        cache.writeRef("org/name", "refs/pr/1", commit);
        assertEquals(commit, Files.readString(tmp.resolve("models--org--name/refs/refs/pr/1")));
        assertEquals(commit, cache.commitOf("org/name", "refs/pr/1").orElseThrow());
        cache.writeRef("org/name", commit, commit); // a hash needs no ref
        assertFalse(Files.exists(tmp.resolve("models--org--name/refs/" + commit)));
        assertTrue(cache.commitOf("org/name", "main").isEmpty());
    }

    @Test
    void rejectsNamesThatEscapeTheCache() {
        for (String bad : new String[] {"../x", "a/../../b", "/etc/passwd", "a\\b", "a//b", ""}) {
            assertThrows(HubException.class, () -> CacheLayout.checkRelative("file name", bad), bad);
        }
        for (String bad : new String[] {"a/b/c", "a--b", "../a", "a/", "-a", "a b"}) {
            assertThrows(HubException.class, () -> CacheLayout.checkRepoId(bad), bad);
        }
        assertEquals("FacebookAI/xlm-roberta-base", CacheLayout.checkRepoId("FacebookAI/xlm-roberta-base"));
        assertEquals("xlm-roberta-base", CacheLayout.checkRepoId("xlm-roberta-base"));
        assertThrows(HubException.class, () -> CacheLayout.checkEtag("../x", "f"));
        assertEquals("abc", HubClient.normalizeEtag("W/\"abc\""));
    }
}
