package dev.xlmr.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xlmr.model.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The files train-step writes, read back with xlmr-model's reader and compared with the reference run. */
class TrainStepTest {
    @TempDir
    Path tmp;

    @Test
    void writesStepsGradientsAndFinalParameters() throws Exception {
        Path dir = ReplayTest.fixture("tokcls");
        TrainSpec spec = TrainSpec.load(dir.resolve("train.json"));
        TrainStep.run(dir, dir.resolve("train.json"), tmp);
        List<String> lines = Files.readAllLines(tmp.resolve("steps.jsonl"));
        assertEquals(spec.steps().size(), lines.size());
        for (int s = 0; s < lines.size(); s++) {
            JsonNode n = new ObjectMapper().readTree(lines.get(s));
            assertEquals(spec.steps().get(s).loss(), n.get("loss").asDouble(), 1e-4 * spec.steps().get(s).loss());
            assertEquals(spec.steps().get(s).gradNorm(), n.get("grad_norm").asDouble(), 1e-4 * spec.steps().get(s).gradNorm());
        }
        try (Weights got = Weights.open(tmp.resolve("grads_step1.safetensors"));
             Weights ref = Weights.open(dir.resolve("grads_step1.safetensors"));
             Weights gotFinal = Weights.open(tmp.resolve("final.safetensors"));
             Weights refFinal = Weights.open(dir.resolve("final.safetensors"))) {
            assertEquals(List.copyOf(spec.parameters()), List.copyOf(got.names()));
            for (String p : spec.parameters()) {
                assertArrayEquals(ref.shape(p), got.shape(p), p);
                float[] a = got.get(p).toFloatArray();
                float[] b = ref.get(p).toFloatArray();
                for (int i = 0; i < a.length; i++) {
                    assertEquals(b[i], a[i], 1e-5, p + "[" + i + "]");
                }
                assertArrayEquals(refFinal.shape(p), gotFinal.shape(p), p);
            }
        }
    }

    @Test
    void badInputGivesOneLineErrors() throws Exception {
        Path dir = ReplayTest.fixture("seqcls");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainStep.run(dir, tmp.resolve("missing.json"), tmp.resolve("out")));
        assertTrue(e.getMessage().contains("missing.json: no such file"), e.getMessage());
        Path broken = tmp.resolve("broken.json");
        Files.writeString(broken, "{\"batches\": [");
        e = assertThrows(IllegalArgumentException.class, () -> TrainStep.run(dir, broken, tmp.resolve("out")));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
        Path noSteps = tmp.resolve("nosteps.json");
        Files.writeString(noSteps, "{\"batches\": [{\"input_ids\": [[0, 2]], \"labels\": [1]}], \"optimizer\": {\"lr\": 1}}");
        e = assertThrows(IllegalArgumentException.class, () -> TrainStep.run(dir, noSteps, tmp.resolve("out")));
        assertTrue(e.getMessage().contains("missing 'steps'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TrainStep.run(tmp, dir.resolve("train.json"), tmp.resolve("out")));
        assertTrue(e.getMessage().contains("no config.json"), e.getMessage());
        Path ragged = tmp.resolve("ragged.json");
        Files.writeString(ragged, "{\"batches\": [{\"input_ids\": [[0, 2], [0, 5, 2]], \"labels\": [1, 1]}],"
                + " \"optimizer\": {\"lr\": 1}, \"steps\": [{\"batch\": 0}]}");
        e = assertThrows(IllegalArgumentException.class, () -> TrainStep.run(dir, ragged, tmp.resolve("out")));
        assertTrue(e.getMessage().contains("batches[0].input_ids row 1 has 3 tokens, expected 2"), e.getMessage());
        Path badLabel = tmp.resolve("badlabel.json");
        Files.writeString(badLabel, "{\"batches\": [{\"input_ids\": [[0, 2]], \"labels\": [7]}], \"optimizer\": {\"lr\": 1},"
                + " \"steps\": [{\"batch\": 0}]}");
        e = assertThrows(IllegalArgumentException.class, () -> TrainStep.run(dir, badLabel, tmp.resolve("out")));
        assertTrue(e.getMessage().contains("label 7 is outside [0, 3)"), e.getMessage());
    }
}
