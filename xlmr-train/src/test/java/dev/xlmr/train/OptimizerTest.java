package dev.xlmr.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Trainer's rules that the fixtures do not exercise on their own. */
class OptimizerTest {
    @TempDir
    Path tmp;

    @Test
    void noDecayByNameAsTrainer() {
        Map<String, Var> p = Map.of(
                "roberta.encoder.layer.0.attention.output.LayerNorm.weight", new Var(2),
                "roberta.encoder.layer.0.attention.self_attn_layer_norm.weight", new Var(2),
                "lm_head.layer_norm.weight", new Var(2),
                "classifier.bias", new Var(2),
                "classifier.weight", new Var(2));
        AdamW opt = new AdamW(p, 0.9, 0.999, 1e-8, 0.01, List.of("bias", "LayerNorm.weight"));
        assertEquals(0, opt.weightDecay("roberta.encoder.layer.0.attention.output.LayerNorm.weight"));
        assertEquals(0, opt.weightDecay("classifier.bias"));
        // the rule matches names, so XL's self_attn_layer_norm and lm_head.layer_norm weights do decay
        assertEquals(0.01, opt.weightDecay("roberta.encoder.layer.0.attention.self_attn_layer_norm.weight"));
        assertEquals(0.01, opt.weightDecay("lm_head.layer_norm.weight"));
        assertEquals(0.01, opt.weightDecay("classifier.weight"));
    }

    @Test
    void schedulesAsTransformers() {
        // transformers.optimization: get_linear/constant/cosine_schedule_with_warmup(warmup 2, total 10)
        Schedule lin = Schedule.linear(2, 10);
        assertEquals(0.0, lin.factor(0));
        assertEquals(0.5, lin.factor(1));
        assertEquals(1.0, lin.factor(2));
        assertEquals(0.5, lin.factor(6));
        assertEquals(0.0, lin.factor(12));
        assertEquals(1.0, Schedule.constant(2).factor(7));
        assertEquals(0.5, Schedule.cosine(2, 10).factor(6), 1e-15);
        assertEquals(0.0, Schedule.cosine(2, 10).factor(10), 1e-15);
    }

    @Test
    void clippingScalesByMaxNormOverNormPlusEpsilon() {
        Var a = Var.of(new int[] {2}, 0, 0);
        Var b = Var.of(new int[] {1}, 0);
        a.grad[0] = 3;
        a.grad[1] = 0;
        b.grad[0] = 4;
        assertEquals(5, AdamW.clipGradNorm(List.of(a, b), 1.0));
        assertEquals(3 / (5 + 1e-6), a.grad[0], 1e-15);
        assertEquals(4 / (5 + 1e-6), b.grad[0], 1e-15);
        assertEquals(5 / (5 + 1e-6), AdamW.clipGradNorm(List.of(a, b), 10.0), 1e-15); // under the max: unchanged
    }

    @Test
    void accumulatingTwoHalvesEqualsTheWholeBatch() throws Exception {
        // seqcls: mean cross-entropy over 2 + 2 rows accumulated (each loss / 2) is the mean over the 4 rows
        Path dir = ReplayTest.fixture("seqcls");
        String text = Files.readString(dir.resolve("train.json"));
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var root = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(text);
        var whole = root.get("batches").get(0);
        var halves = json.createArrayNode();
        for (int h = 0; h < 2; h++) {
            var half = json.createObjectNode();
            for (String k : List.of("input_ids", "attention_mask", "labels")) {
                var arr = half.putArray(k);
                arr.add(whole.get(k).get(2 * h));
                arr.add(whole.get(k).get(2 * h + 1));
            }
            halves.add(half);
        }
        root.set("batches", halves);
        var steps = json.createArrayNode();
        steps.addObject().putArray("batches").add(0).add(1);
        root.set("steps", steps);
        Path spec = tmp.resolve("accumulated.json");
        Files.writeString(spec, json.writeValueAsString(root));
        Replay.Result acc = Replay.run(dir, TrainSpec.load(spec));
        TrainSpec ref = TrainSpec.load(dir.resolve("train.json"));
        assertEquals(ref.steps().get(0).loss(), acc.losses()[0], 1e-4 * ref.steps().get(0).loss());
        assertEquals(ref.steps().get(0).gradNorm(), acc.gradNorms()[0], 1e-4 * ref.steps().get(0).gradNorm());
        try (var grads = dev.xlmr.model.Weights.open(dir.resolve("grads_step1.safetensors"))) {
            for (String p : ref.parameters()) {
                float[] r = grads.get(p).toFloatArray();
                double[] g = acc.gradsStep1().get(p);
                for (int i = 0; i < r.length; i++) {
                    assertEquals(r[i], g[i], 1e-5, p + "[" + i + "]");
                }
            }
        }
    }
}
