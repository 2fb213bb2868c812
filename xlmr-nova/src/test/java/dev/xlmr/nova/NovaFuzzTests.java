package dev.xlmr.nova;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Coverage-guided fuzz targets for the NOVA/SSI file parsers (issue 17): annotations (header + data),
 * streams (header + data) and trainer files. An input is the header's bytes, a NUL, then the data
 * file's bytes (no NUL: the whole input is the header, the data file is empty). Their promise: for any
 * bytes, a result or a {@link NovaFormatException} naming the file (a FREE annotation is also framed as
 * the server frames it: a result or a {@link JobTooLargeException}); any other throwable is a finding.
 * Without {@code JAZZER_FUZZ} they run once over the seeds in {@code NovaFuzzTestsInputs/<method>/}
 * (made from the fixtures by {@code src/test/make_nova_fuzz_seeds.py}):
 *
 * <pre>{@code
 * JAZZER_FUZZ=1 ./mvnw -pl xlmr-nova test -Dtest=NovaFuzzTests#annotation -Djazzer.max_duration=10m
 * }</pre>
 */
class NovaFuzzTests {
    private static Path dir;

    @BeforeAll
    static void folder() throws IOException {
        dir = Files.createTempDirectory("nova-fuzz");
    }

    @AfterAll
    static void clean() throws IOException {
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) Files.delete(p);
        }
        Files.delete(dir);
    }

    /** Writes {@code name} (the header) and {@code name~} (the data) from one input. */
    private static Path files(String name, byte[] input) {
        int nul = 0;
        while (nul < input.length && input[nul] != 0) nul++;
        Path header = dir.resolve(name);
        try {
            Files.write(header, Arrays.copyOfRange(input, 0, nul));
            Files.write(dir.resolve(name + "~"), nul < input.length ? Arrays.copyOfRange(input, nul + 1, input.length) : new byte[0]);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // the test's own files: not a finding of the parser
        }
        return header;
    }

    private static byte[] seed(String method, String name) throws IOException {
        try (var in = NovaFuzzTests.class.getResourceAsStream("NovaFuzzTestsInputs/" + method + "/" + name)) {
            if (in == null) throw new IllegalStateException("missing seed " + method + "/" + name);
            return in.readAllBytes();
        }
    }

    /** The seeds are files the parsers accept (else fuzzing would start from errors): each parses, as the fixtures do. */
    @Test
    void seedsParse() throws IOException {
        FreeAnnotation spec = Fixtures.transcript(dir);
        for (String n : new String[] {"transcript-ascii", "transcript-binary"}) {
            assertEquals(spec.labels(), ((FreeAnnotation) Annotations.read(files("seed.annotation", seed("annotation", n)))).labels(), n);
        }
        assertEquals(2, ((DiscreteAnnotation) Annotations.read(files("seed.annotation", seed("annotation", "discrete-ascii")))).labels().size());
        assertEquals(((DiscreteAnnotation) Annotations.read(files("seed.annotation", seed("annotation", "discrete-ascii")))).labels(),
                ((DiscreteAnnotation) Annotations.read(files("seed.annotation", seed("annotation", "discrete-binary")))).labels());
        assertEquals(3, ((ContinuousAnnotation) Annotations.read(files("seed.annotation", seed("annotation", "continuous-ascii")))).frames().size());
        SsiStream bin = SsiStream.read(files("seed.stream", seed("stream", "floats-binary")));
        SsiStream txt = SsiStream.read(files("seed.stream", seed("stream", "floats-ascii")));
        assertEquals(3, bin.numSamples());
        assertEquals(Arrays.toString(bin.toFloats()), Arrays.toString(txt.toFloats()));
        assertEquals("16", Trainer.read(files("seed.trainer", seed("trainer", "xlm_roberta"))).defaultOptions().get("batch_size"));
    }

    @FuzzTest(maxDuration = "30s")
    void annotation(byte[] input) {
        Path header = files("fuzz.annotation", input);
        Annotation a;
        try {
            a = Annotations.read(header);
        } catch (NovaFormatException expected) {
            return; // the domain's own error
        } catch (IOException e) {
            throw new AssertionError("an IOException that is not a NovaFormatException: " + e, e);
        }
        if (a instanceof FreeAnnotation free) {
            // as /process frames a transcript: the memory check first, then the frames
            FramingOptions opts = FramingOptions.of(40, 960);
            try {
                XlmRobertaModule.checkMemory(opts, free.durationMs(), 768, 64L << 20);
                XlmRobertaModule.frame(free, opts);
            } catch (JobTooLargeException expected) {
                // too many frames for the job limit: named, before allocation
            }
        }
    }

    @FuzzTest(maxDuration = "30s")
    void stream(byte[] input) {
        Path header = files("fuzz.stream", input);
        try {
            SsiStream s = SsiStream.read(header);
            if (s.type().isNumeric(s.byteWidth()) && s.numSamples() * s.dim() <= 1 << 20) s.toFloats();
        } catch (NovaFormatException expected) {
            // the domain's own error
        } catch (IOException e) {
            throw new AssertionError("an IOException that is not a NovaFormatException: " + e, e);
        }
    }

    @FuzzTest(maxDuration = "30s")
    void trainer(byte[] input) {
        Path file = files("fuzz.trainer", input);
        try {
            Trainer t = Trainer.read(file);
            t.defaultOptions();
        } catch (NovaFormatException expected) {
            // the domain's own error
        } catch (IOException e) {
            throw new AssertionError("an IOException that is not a NovaFormatException: " + e, e);
        }
    }
}
