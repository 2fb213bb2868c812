package dev.xlmr.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the reference fixtures (the repo's testdata/ folder, copied from ../shared/fixtures). */
final class TestData {
    private TestData() {}

    static Path root() {
        String p = System.getProperty("xlmr.testdata");
        Path dir = p != null ? Path.of(p) : Path.of("..", "testdata");
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("testdata folder not found: " + dir.toAbsolutePath());
        }
        return dir;
    }

    static Path model(String name) {
        return root().resolve(name);
    }
}
