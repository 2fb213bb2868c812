package dev.xlmr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DownloadCommandTest {
    static final Path BASE = Path.of(System.getProperty("xlmr.testdata", "../testdata")).resolve("xlmr-base");

    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {}

    @BeforeAll
    static void notOffline() {
        // the command reads the process environment; these tests must not depend on it
        assumeFalse(System.getenv("HF_HUB_OFFLINE") != null, "HF_HUB_OFFLINE is set");
    }

    static Result run(String... args) {
        CliRun r = CliRun.run("", args);
        return new Result(r.code(), r.out(), r.err());
    }

    @Test
    void printsTheCachedSnapshotFolder() throws IOException {
        String commit = "89abcdef0123456789abcdef0123456789abcdef";
        Path repo = tmp.resolve("models--org--model");
        Path snap = repo.resolve("snapshots").resolve(commit);
        for (String f : List.of("config.json", "tokenizer.json", "model.safetensors")) {
            Path blob = repo.resolve("blobs").resolve("blob-" + f.replace('.', '-'));
            Files.createDirectories(blob.getParent());
            Files.copy(BASE.resolve(f), blob);
            Files.createDirectories(snap);
            Files.createSymbolicLink(snap.resolve(f), snap.relativize(blob));
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/v2"), commit);

        // an unreachable endpoint: the cache must be enough
        Result r = run("download", "org/model", "--revision", "v2", "--cache-dir", tmp.toString(),
                "--endpoint", "http://127.0.0.1:9", "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertEquals(snap.toAbsolutePath() + System.lineSeparator(), r.out());
    }

    @Test
    void aLocalFolderIsPrintedAsIs() {
        Result r = run("download", BASE.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(BASE.toAbsolutePath().toString(), r.out().strip());
    }

    @Test
    void runtimeErrorsExitWithOneAndOneLine() throws IOException {
        Result offline = run("download", "org/model", "--cache-dir", tmp.toString(), "--offline");
        assertEquals(1, offline.code());
        assertTrue(offline.err().startsWith("xlmr: offline"), offline.err());
        assertEquals(1, offline.err().lines().count(), offline.err());

        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            ex.getResponseHeaders().set("X-Error-Code", "RepoNotFound");
            ex.sendResponseHeaders(404, -1);
            ex.close();
        });
        server.start();
        try {
            Result missing = run("download", "org/missing", "--cache-dir", tmp.toString(),
                    "--endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
            assertEquals(1, missing.code());
            assertTrue(missing.err().startsWith("xlmr: repository or revision not found: org/missing@main"), missing.err());
            assertEquals("", missing.out());
        } finally {
            server.stop(0);
        }
    }

    @Test
    void usageErrorsExitWithTwo() {
        assertEquals(2, run("download").code());
        assertEquals(2, run("download", "a/b", "--no-such-option").code());
    }
}
