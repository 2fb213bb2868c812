package dev.xlmr.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The reference fixtures of testdata/. */
final class Fixtures {
    static final ObjectMapper JSON = new ObjectMapper();
    static final double TOL = 1e-5;

    private Fixtures() {}

    static Path dir(String name) {
        String p = System.getProperty("xlmr.testdata");
        Path root = p != null ? Path.of(p) : Path.of("..", "testdata");
        if (!Files.isDirectory(root)) {
            throw new IllegalStateException("testdata folder not found: " + root.toAbsolutePath());
        }
        return root.resolve(name);
    }

    static JsonNode expected(String name) {
        try {
            return JSON.readTree(dir(name).resolve("expected.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void close(double expected, double actual, String where) {
        assertEquals(expected, actual, TOL, where);
    }
}
