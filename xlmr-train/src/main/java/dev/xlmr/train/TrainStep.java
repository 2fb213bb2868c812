package dev.xlmr.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The replay behind {@code ./xlmr train-step}: runs a spec's steps on a model folder and writes
 * {@code steps.jsonl} (per step {"loss", "grad_norm"}, the norm before clipping),
 * {@code grads_step1.safetensors} and {@code final.safetensors} (F32, the spec's parameter names).
 *
 * <pre>{@code
 * TrainStep.run(Path.of("case"), Path.of("case/train.json"), Path.of("out"));
 * }</pre>
 */
public final class TrainStep {
    private TrainStep() {}

    public static Replay.Result run(Path modelDir, Path specFile, Path outDir) {
        if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
            throw new IllegalArgumentException(modelDir + ": no config.json (expected a Hugging Face model folder)");
        }
        TrainSpec spec = TrainSpec.load(specFile);
        Replay.Result r = Replay.run(modelDir, spec);
        try {
            Files.createDirectories(outDir);
            ObjectMapper json = new ObjectMapper();
            StringBuilder lines = new StringBuilder();
            for (int s = 0; s < r.losses().length; s++) {
                Map<String, Double> line = new LinkedHashMap<>();
                line.put("loss", r.losses()[s]);
                line.put("grad_norm", r.gradNorms()[s]);
                lines.append(json.writeValueAsString(line)).append('\n');
            }
            Files.writeString(outDir.resolve("steps.jsonl"), lines, StandardCharsets.UTF_8);
            Map<String, Safetensors.Entry> grads = new LinkedHashMap<>();
            Map<String, Safetensors.Entry> fin = new LinkedHashMap<>();
            r.finalParams().forEach((name, v) -> {
                grads.put(name, new Safetensors.Entry(v.shape(), r.gradsStep1().get(name)));
                fin.put(name, new Safetensors.Entry(v.shape(), v.data));
            });
            Safetensors.writeF32(outDir.resolve("grads_step1.safetensors"), grads);
            Safetensors.writeF32(outDir.resolve("final.safetensors"), fin);
        } catch (IOException e) {
            throw new UncheckedIOException(outDir + ": cannot write the results: " + e.getMessage(), e);
        }
        return r;
    }
}
