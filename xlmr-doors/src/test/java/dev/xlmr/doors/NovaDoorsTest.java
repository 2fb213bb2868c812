package dev.xlmr.doors;

import static dev.xlmr.doors.Doors.TOL;
import static dev.xlmr.doors.Doors.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.doors.Doors.Answer;
import dev.xlmr.doors.Doors.Cli;
import dev.xlmr.doors.Doors.Server;
import dev.xlmr.nova.Annotations;
import dev.xlmr.nova.FileType;
import dev.xlmr.nova.FramingOptions;
import dev.xlmr.nova.FreeAnnotation;
import dev.xlmr.nova.SsiStream;
import dev.xlmr.nova.XlmRobertaModule;
import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.pipelines.EmbeddingPipeline.Options;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * NOVA's xlm_roberta module through its two doors, the server's {@code /process} and {@code ./xlmr nova process},
 * frame by frame against the Java API: {@code default} is the pooler output and {@code mean} the mean over the
 * tokens, both after the prompt (prompt_name, else the folder's default prompt); {@code compat} is the original
 * module's output (pooler output, and the padded batch mean for the frames after the last full batch) and takes
 * no prompt: both doors refuse one with a clear error.
 */
class NovaDoorsTest {
    static final String TRAINER = "modules\\xlm_roberta\\xlm_roberta.trainer";

    @TempDir
    static Path root;

    /** The NOVA specification's example transcript, with one more segment. */
    static FreeAnnotation transcript() {
        return FreeAnnotation.of("transcript", List.of(new FreeAnnotation.Label(0.5, 1.25, "hello world", 1f),
                new FreeAnnotation.Label(1.30, 2.0, "how are you", 0.9f), new FreeAnnotation.Label(3.0, 3.5, "bye", 1f),
                new FreeAnnotation.Label(3.6, 4.2, "Le système de fichiers est vérifié au démarrage.", 1f)));
    }

    static Path folder(String name) {
        if (name.equals("xlmr-base")) return Doors.testdata("xlmr-base");
        Path dir = Doors.copyModel("xlmr-base", root.resolve("models").resolve(name));
        return Doors.sentenceTransformers(dir, List.of("cls_token"), true, true, "query", true, 128, false);
    }

    /** A /process request of the seed shape (40 ms frames, 960 ms left context) writing out/JOB.stream. */
    static Map<String, String> form(String job, Map<String, String> options) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("jobID", job);
        f.put("trainerFilePath", TRAINER);
        f.put("data", "[{\"src\":\"file:annotation:free\",\"type\":\"input\",\"id\":\"transcript\",\"uri\":\"session/transcript.annotation\"},"
                + "{\"src\":\"file:stream:SSIStream\",\"type\":\"output\",\"id\":\"embeddings\",\"uri\":\"out/" + job + ".stream\"}]");
        f.put("frame_size", "40ms");
        f.put("left_context", "960ms");
        try {
            f.put("options", Doors.JSON.writeValueAsString(options));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return f;
    }

    static float[] frame(float[] all, int dim, int k) {
        return Arrays.copyOfRange(all, k * dim, (k + 1) * dim);
    }

    @ParameterizedTest
    @ValueSource(strings = {"xlmr-base", "cls-normalize-prompts"})
    void processThroughTheServerAndTheCliGivesTheJavaApisVectors(String name) throws IOException {
        Path model = folder(name);
        boolean prompts = !name.equals("xlmr-base");
        Path annotation = root.resolve("session/transcript.annotation");
        Files.createDirectories(annotation.getParent());
        Annotations.write(transcript(), annotation, FileType.ASCII);
        XlmRobertaModule.Framing fr = XlmRobertaModule.frame(transcript(), FramingOptions.of(40, 960));
        int n = fr.frameCount();
        List<String> texts = fr.distinctTexts();
        assertTrue(texts.size() >= 6, "distinct window texts: " + texts);

        // the Java API's vectors of every window text
        record Run(String pooling, String promptName, List<float[]> want) {}
        List<Run> runs = new ArrayList<>();
        int b = 50;
        List<float[]> compatPooled;
        List<float[]> compatLeftover;
        List<String> leftoverTexts;
        int pooledEnd = (n - 1) / b * b + 1;
        try (EmbeddingPipeline api = EmbeddingPipeline.load(model.toString())) {
            api.warnings(w -> { });
            for (String pooling : List.of("default", "mean")) {
                Options o = Options.defaults().pooling(pooling.equals("mean") ? Pooling.MEAN : Pooling.POOLER);
                runs.add(new Run(pooling, null, api.embedAll(texts, o)));
                if (prompts) runs.add(new Run(pooling, "passage", api.embedAll(texts, o.promptName("passage"))));
            }
            compatPooled = api.embedAll(texts, Options.defaults().pooling(Pooling.POOLER).prefix(""));
            LinkedHashSet<String> left = new LinkedHashSet<>();
            for (int k = pooledEnd; k < n; k++) left.add(fr.text(k));
            leftoverTexts = new ArrayList<>(left);
            compatLeftover = api.paddedBatchMean(api.prepare(leftoverTexts, Options.defaults().prefix(""), true));
        }
        if (prompts) {
            // the folder's default prompt is used when none is named: the vectors differ from the passage prompt's
            assertTrue(Math.abs(runs.get(0).want().get(1)[0] - runs.get(1).want().get(1)[0]) > 1e-4, "prompts change vectors");
        }

        try (Server s = Server.start(model, root)) {
            int job = 0;
            for (Run r : runs) {
                String where = name + " pooling " + r.pooling() + " prompt " + r.promptName();
                Map<String, String> opts = new LinkedHashMap<>();
                opts.put("pooling", r.pooling());
                if (r.promptName() != null) opts.put("prompt_name", r.promptName());
                String id = name + "-" + job++;
                assertEquals(200, s.form("/process", form(id, opts)).status());
                assertEquals(2, s.awaitJob(id), where + ": " + s.form("/log", Map.of("jobID", id)).body());
                float[] server = SsiStream.read(root.resolve("out/" + id + ".stream")).toFloats();

                List<String> args = new ArrayList<>(List.of("nova", "process", "--model", model.toString(), "--annotation",
                        annotation.toString(), "--out", root.resolve("cli/" + id).toString(), "--frame-size", "40ms",
                        "--left-context", "960ms", "--pooling", r.pooling()));
                if (r.promptName() != null) args.addAll(List.of("--prompt-name", r.promptName()));
                Cli c = Doors.cli("", args.toArray(String[]::new));
                assertEquals(0, c.code(), c.err());
                float[] cli = SsiStream.read(root.resolve("cli/" + id + ".stream")).toFloats();
                assertEquals(n * 32, server.length, where);
                for (int k = 0; k < n; k++) {
                    float[] want = r.want().get(fr.textIndex(k));
                    assertClose(want, frame(server, 32, k), TOL, where + " /process frame " + k);
                    assertClose(want, frame(cli, 32, k), TOL, where + " nova process frame " + k);
                }
            }

            // compat, batch_size 50: frames before 51 the pooler output without prompt, the rest their padded batch's mean
            String id = name + "-compat";
            assertEquals(200, s.form("/process", form(id, Map.of("pooling", "compat", "batch_size", "50"))).status());
            assertEquals(2, s.awaitJob(id));
            float[] server = SsiStream.read(root.resolve("out/" + id + ".stream")).toFloats();
            Cli c = Doors.cli("", "nova", "process", "--model", model.toString(), "--annotation", annotation.toString(),
                    "--out", root.resolve("cli/" + id).toString(), "--frame-size", "40ms", "--left-context", "960ms",
                    "--pooling", "compat", "--batch-size", "50");
            assertEquals(0, c.code(), c.err());
            float[] cli = SsiStream.read(root.resolve("cli/" + id + ".stream")).toFloats();
            assertTrue(pooledEnd < n, "some frames are left after the last full batch");
            for (int k = 0; k < n; k++) {
                float[] want = k < pooledEnd ? compatPooled.get(fr.textIndex(k)) : compatLeftover.get(leftoverTexts.indexOf(fr.text(k)));
                assertClose(want, frame(server, 32, k), TOL, name + " compat /process frame " + k);
                assertClose(want, frame(cli, 32, k), TOL, name + " compat nova process frame " + k);
            }

            // compat takes no prompt: a clear error from both doors
            // (/process answers {"success":"True"} as DISCOVER does, then the job ends in ERROR with the reason in its log)
            String refusedJob = name + "-compat-prompt";
            Answer refused = s.form("/process", form(refusedJob, Map.of("pooling", "compat", "prompt_name", "query")));
            assertEquals(200, refused.status(), refused.body());
            assertEquals(3, s.awaitJob(refusedJob), refused.body());
            String log = s.form("/log", Map.of("jobID", refusedJob)).json().get("message").asText();
            assertTrue(log.contains("prompt_name"), log);
            Cli no = Doors.cli("", "nova", "process", "--model", model.toString(), "--annotation", annotation.toString(),
                    "--out", root.resolve("cli/x").toString(), "--frame-size", "40ms", "--pooling", "compat", "--prompt-name", "query");
            assertEquals(2, no.code(), no.err());
            assertTrue(no.err().contains("--prompt-name"), no.err());
        }
    }
}
