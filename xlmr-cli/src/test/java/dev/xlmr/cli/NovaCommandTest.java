package dev.xlmr.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.nova.Annotations;
import dev.xlmr.nova.FileType;
import dev.xlmr.nova.FreeAnnotation;
import dev.xlmr.nova.SsiStream;
import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.pipelines.EmbeddingPipeline.Options;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NovaCommandTest {
    @TempDir
    Path dir;

    private Path transcript() throws Exception {
        Path a = dir.resolve("transcript.annotation");
        Annotations.write(FreeAnnotation.of("transcript", List.of(new FreeAnnotation.Label(0.5, 1.25, "hello world", 1f),
                new FreeAnnotation.Label(1.30, 2.0, "how are you", 0.9f), new FreeAnnotation.Label(3.0, 3.5, "bye", 1f))), a, FileType.ASCII);
        return a;
    }

    @Test
    void processWritesOnePoolerVectorPerFrame() throws Exception {
        Path model = CliRun.testdata("xlmr-base");
        CliRun r = CliRun.run("", "nova", "process", "--model", model.toString(), "--annotation", transcript().toString(),
                "--out", dir.resolve("out/e.stream").toString(), "--frame-size", "40ms", "--left-context", "960ms");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("wrote 87 frames x 32 at 25.000 Hz"), r.out());
        SsiStream s = SsiStream.read(dir.resolve("out/e.stream"));
        assertEquals(87, s.numSamples());
        // the Java API's numbers (the server's /process gives the same: CrossDoorTest)
        try (EmbeddingPipeline embed = EmbeddingPipeline.load(model.toString())) {
            float[][] v = embed.embedAll(List.of("", "hello world", "bye"), Options.defaults().pooling(Pooling.POOLER))
                    .toArray(float[][]::new);
            float[] all = s.toFloats();
            assertArrayEquals(v[0], Arrays.copyOfRange(all, 0, 32), 1e-6f);
            assertArrayEquals(v[1], Arrays.copyOfRange(all, 12 * 32, 13 * 32), 1e-6f);
            assertArrayEquals(v[2], Arrays.copyOfRange(all, 86 * 32, 87 * 32), 1e-6f);
            float[] mean = embed.embed("bye", Options.defaults().pooling(Pooling.MEAN));
            CliRun c = CliRun.run("", "nova", "process", "--model", model.toString(), "--annotation", dir.resolve("transcript.annotation").toString(),
                    "--out", dir.resolve("c").toString(), "--frame-size", "40ms", "--left-context", "960ms", "--pooling", "compat");
            assertEquals(0, c.code(), c.err());
            float[] compat = SsiStream.read(dir.resolve("c.stream")).toFloats();
            // batch 16: frames 81..86 ("bye" only) are the leftover batch: the mean, here without padding
            assertArrayEquals(mean, Arrays.copyOfRange(compat, 86 * 32, 87 * 32), 1e-5f);
            assertArrayEquals(v[1], Arrays.copyOfRange(compat, 12 * 32, 13 * 32), 1e-6f);
        }
    }

    @Test
    void badOptionsAreUsageErrorsAndMissingFilesRuntimeErrors() throws Exception {
        String model = CliRun.testdata("xlmr-base").toString();
        String a = transcript().toString();
        CliRun bad = CliRun.run("", "nova", "process", "--model", model, "--annotation", a, "--out", "x", "--frame-size", "fast");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("not a time"), bad.err());
        assertEquals(2, CliRun.run("", "nova", "process", "--model", model, "--annotation", a, "--out", "x",
                "--frame-size", "40ms", "--pooling", "max").code());
        assertEquals(2, CliRun.run("", "nova").code());
        CliRun missing = CliRun.run("", "nova", "process", "--model", model, "--annotation", dir.resolve("none.annotation").toString(),
                "--out", dir.resolve("x").toString(), "--frame-size", "40ms");
        assertEquals(1, missing.code());
        assertTrue(missing.err().startsWith("xlmr: "), missing.err());
    }
}
