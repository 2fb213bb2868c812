package dev.xlmr.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** The reference fixtures under the repository's testdata/ (system property xlmr.testdata). */
final class Fixtures {
    private Fixtures() {}

    static Path dir(String name) {
        String root = System.getProperty("xlmr.testdata");
        if (root == null) {
            throw new IllegalStateException("system property xlmr.testdata is not set (run the tests with Maven)");
        }
        return Path.of(root).resolve(name);
    }

    static JsonNode json(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[][] ints2(JsonNode a) {
        int[][] out = new int[a.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new int[a.get(i).size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = a.get(i).get(j).intValue();
            }
        }
        return out;
    }
}
