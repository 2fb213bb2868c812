package dev.xlmr.enginebench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The benchmark's sentences, built deterministically from {@code testdata/tokenizer/tok_public.txt}: that file
 * is the tokenizer edge cases followed by {@value #CORPUS_LINES} corpus lines in 15 languages (Debian
 * manual pages); the edge cases are skipped and every {@code corpus / count}-th corpus line is taken, from
 * the first on (1,000 lines: every third).
 *
 * <pre>{@code
 * List<String> s = BenchSet.load(Path.of("testdata/tokenizer/tok_public.txt"), 1000);
 * }</pre>
 */
public final class BenchSet {
    /** The corpus lines at the end of tok_public.txt (testdata/README.md). */
    public static final int CORPUS_LINES = 3000;

    private BenchSet() {}

    public static List<String> load(Path file, int count) {
        String all;
        try {
            all = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // lines as the file's writer split them: '\n' only (a '\r' inside a line stays part of it)
        List<String> lines = new ArrayList<>(Arrays.asList(all.split("\n", -1)));
        if (!lines.isEmpty() && lines.getLast().isEmpty()) {
            lines.removeLast();
        }
        if (lines.size() < CORPUS_LINES) {
            throw new IllegalArgumentException(file + ": expected at least " + CORPUS_LINES + " lines, got " + lines.size());
        }
        List<String> corpus = lines.subList(lines.size() - CORPUS_LINES, lines.size());
        if (count < 1 || count > corpus.size()) {
            throw new IllegalArgumentException("count must be in 1.." + corpus.size());
        }
        int step = corpus.size() / count;
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(corpus.get(i * step));
        }
        return List.copyOf(out);
    }
}
