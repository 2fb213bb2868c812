package dev.xlmr.nova;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Test fixtures from src/test/resources/nova (copied from the specification). */
final class Fixtures {
    private Fixtures() {}

    /** Maven's resource copying skips {@code *~} files, so data files are stored as {@code *.data}. */
    static byte[] bytes(String name) {
        String stored = name.endsWith("~") ? name.substring(0, name.length() - 1) + ".data" : name;
        try (InputStream in = Fixtures.class.getResourceAsStream("/nova/" + stored)) {
            if (in == null) throw new IllegalStateException("missing fixture " + name);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String text(String name) {
        return new String(bytes(name), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Copies fixture files into {@code dir}; returns the path of the first. */
    static Path copy(Path dir, String... names) throws IOException {
        Path first = null;
        for (String n : names) {
            Path p = dir.resolve(n);
            Files.write(p, bytes(n));
            if (first == null) first = p;
        }
        return first;
    }

    /** The spec's example transcript (section 1). */
    static FreeAnnotation transcript(Path dir) throws IOException {
        return Annotations.readFree(copy(dir, "transcript.annotation", "transcript.annotation~"));
    }
}
