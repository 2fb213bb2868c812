package dev.xlmr.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.engine.Kernels;
import dev.xlmr.model.Head;
import dev.xlmr.model.ModelConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The fp32 path ({@link FastModel}, {@link FastAdamW}) against the float64 reference
 * ({@link TrainableModel}, {@link AdamW}) on odd sizes (hidden 36, 3 heads, intermediate 37, vocab
 * 29, 2 layers) and a packed batch of mixed lengths (11, 7, 4 and 1 real tokens of 11, one row
 * left-padded), for every head and loss and every kernel provider available here: the loss, every
 * parameter's gradient, and the parameters after clipping and one AdamW step from the same
 * gradients, within fp32 rounding.
 */
class FastModelTest {
    static final int VOCAB = 29;
    static final int HIDDEN = 36;
    static final int INTER = 37;
    static final int LAYERS = 2;
    static final int MAXPOS = 16;
    static final int SEQ = 11;

    @ParameterizedTest
    @CsvSource({
        "xlm-roberta, XLMRobertaForSequenceClassification, single_label_classification",
        "xlm-roberta, XLMRobertaForSequenceClassification, multi_label_classification",
        "xlm-roberta, XLMRobertaForSequenceClassification, regression",
        "xlm-roberta, XLMRobertaForTokenClassification, ",
        "xlm-roberta, XLMRobertaForQuestionAnswering, ",
        "xlm-roberta, XLMRobertaForMaskedLM, ",
        "xlm-roberta, XLMRobertaForMultipleChoice, ",
        "xlm-roberta, XLMRobertaForCausalLM, ",
        "xlm-roberta-xl, XLMRobertaXLForMaskedLM, ",
        "xlm-roberta-xl, XLMRobertaXLForSequenceClassification, single_label_classification",
    })
    void lossGradientsAndOneAdamWStepMatchTheReference(String modelType, String arch, String problemType) {
        boolean causal = arch.endsWith("CausalLM");
        int labels = "regression".equals(problemType) ? 1 : 3;
        String json = """
                {"model_type": "%s", "architectures": ["%s"], "vocab_size": %d, "hidden_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": 3, "intermediate_size": %d,
                 "max_position_embeddings": %d, "type_vocab_size": 2, "pad_token_id": 1,
                 "layer_norm_eps": 1e-5, "is_decoder": %b, "num_labels": %d}
                """.formatted(modelType, arch, VOCAB, HIDDEN, LAYERS, INTER, MAXPOS, causal, labels);
        ModelConfig config = ModelConfig.parse(json, "test config");
        for (Kernels k : Fp32Test.providers()) {
            Random rnd = new Random(arch.hashCode() + 31L * modelType.hashCode());
            Parameters params = randomParameters(config, labels, rnd);
            TrainableModel ref = new TrainableModel(config, params, problemType);
            FastModel fast = FastModel.of(ref, k);
            TrainBatch batch = batch(config, labels, problemType, rnd);
            String what = k.name() + " " + arch + " " + problemType;

            FastModel.Packing pk = fast.pack(batch);
            if (config.head() == Head.QUESTION_ANSWERING) {
                assertEquals(batch.rows() * SEQ, pk.tokens(), what + ": QA computes every position");
            } else {
                assertTrue(pk.tokens() < batch.rows() * SEQ, what + ": padding is not computed (" + pk.tokens() + ")");
            }

            Tape rt = new Tape();
            Var rl = ref.loss(rt, batch);
            rt.backward(rl);
            Tape ft = new Tape();
            FVar fl = fast.loss(ft, batch, null);
            fast.backward(ft, fl, 1f);
            assertEquals(rl.item(), fl.data[0], 2e-5 * Math.max(1, Math.abs(rl.item())), what + " loss");
            for (var e : params.all().entrySet()) {
                Fp32Test.close(e.getValue().grad, toDouble(fast.parameters().get(e.getKey()).grad()), 1e-4,
                        what + " grad " + e.getKey());
            }

            // Adam's first step is lr * sign(g) wherever |g| >> eps, so gradients that are zero in exact
            // arithmetic (the key biases: softmax ignores a shift) would step by +-lr on rounding noise;
            // the optimizer is compared on the same (fp32-rounded) gradients.
            for (var e : params.all().entrySet()) {
                float[] g = fast.parameters().get(e.getKey()).grad();
                for (int i = 0; i < g.length; i++) {
                    g[i] = (float) e.getValue().grad[i];
                    e.getValue().grad[i] = g[i];
                }
            }
            List<String> noDecay = List.of("bias", "LayerNorm.weight", "layer_norm.weight");
            double rn = AdamW.clipGradNorm(params.all().values(), 1.0);
            double fn = FastAdamW.clipGradNorm(fast.parameters().values(), 1.0);
            assertEquals(rn, fn, 1e-4 * rn, what + " grad norm");
            new AdamW(params.all(), 0.9, 0.999, 1e-8, 0.01, noDecay).step(1e-3);
            new FastAdamW(fast.parameters(), 0.9, 0.999, 1e-8, 0.01, noDecay).step(1e-3);
            for (var e : params.all().entrySet()) {
                Fp32Test.close(e.getValue().data, toDouble(fast.parameters().get(e.getKey()).data), 1e-5,
                        what + " after AdamW " + e.getKey());
            }
            k.close();
        }
    }

    /**
     * Train-mode dropout on the fp32 path (its masks cover the packed tokens, so they are not the
     * reference's): a seed repeats exactly, rates of 0 are eval arithmetic, and the gradient under
     * fixed masks agrees with a central difference of the loss along a random direction of all parameters.
     */
    @ParameterizedTest
    @CsvSource({
        "xlm-roberta, XLMRobertaForSequenceClassification",
        "xlm-roberta, XLMRobertaForTokenClassification",
        "xlm-roberta, XLMRobertaForMultipleChoice",
        "xlm-roberta-xl, XLMRobertaXLForMaskedLM",
    })
    void dropoutRepeatsAndItsGradientMatchesADirectionalDifference(String modelType, String arch) {
        String json = """
                {"model_type": "%s", "architectures": ["%s"], "vocab_size": %d, "hidden_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": 3, "intermediate_size": %d,
                 "max_position_embeddings": %d, "type_vocab_size": 2, "pad_token_id": 1,
                 "layer_norm_eps": 1e-5, "num_labels": 3}
                """.formatted(modelType, arch, VOCAB, HIDDEN, LAYERS, INTER, MAXPOS);
        ModelConfig config = ModelConfig.parse(json, "test config");
        Random rnd = new Random(arch.hashCode() + 5L);
        Parameters params = randomParameters(config, 3, rnd);
        TrainBatch batch = batch(config, 3, "single_label_classification", rnd);
        try (Kernels k = dev.xlmr.engine.KernelProvider.create(null, 2)) {
            FastModel m = FastModel.of(new TrainableModel(config, params, "single_label_classification"), k);
            float eval = m.loss(new Tape(), batch, null).data[0];
            assertEquals(eval, m.loss(new Tape(), batch, new Dropout(0, 0, 0, 5)).data[0], "rates of 0 are eval arithmetic");
            java.util.function.Supplier<Dropout> drop = () -> new Dropout(0.3, 0.2, 0.4, 5);
            Tape t = new Tape();
            FVar loss = m.loss(t, batch, drop.get());
            org.junit.jupiter.api.Assertions.assertNotEquals(eval, loss.data[0], "dropout changes the loss");
            assertEquals(loss.data[0], m.loss(new Tape(), batch, drop.get()).data[0], "one seed, one loss");
            m.zeroGrad();
            m.backward(t, loss, 1f);
            // along u: g . u against (L(w + eps u) - L(w - eps u)) / 2 eps, in float64 from the fp32 losses
            // (u of unit length, so the step stays small for the curvature; fp32 losses are exact enough at 1e-2)
            int count = 0;
            for (FVar v : m.parameters().values()) {
                count += v.size();
            }
            double gu = 0;
            Map<String, float[]> u = new LinkedHashMap<>();
            for (var e : m.parameters().entrySet()) {
                float[] d = new float[e.getValue().size()];
                // the padding rows of the word and position tables get no gradient by definition (padding_idx),
                // though padding read as a query (the left-padded row's first token) does use them
                boolean padRows = e.getKey().endsWith("word_embeddings.weight") || e.getKey().endsWith("position_embeddings.weight");
                for (int i = 0; i < d.length; i++) {
                    boolean pad = padRows && i / HIDDEN == config.padTokenId();
                    d[i] = pad ? 0 : (float) (rnd.nextGaussian() / Math.sqrt(count));
                    gu += (double) d[i] * e.getValue().grad()[i];
                }
                u.put(e.getKey(), d);
            }
            double eps = 1e-2;
            double[] l = new double[2];
            for (int side = 0; side < 2; side++) {
                double sgn = side == 0 ? 1 : -1;
                for (var e : m.parameters().entrySet()) {
                    float[] w = e.getValue().data;
                    double[] orig = params.get(e.getKey()).data;
                    float[] d = u.get(e.getKey());
                    for (int i = 0; i < w.length; i++) {
                        w[i] = (float) (orig[i] + sgn * eps * d[i]);
                    }
                }
                l[side] = m.loss(new Tape(), batch, drop.get()).data[0];
            }
            double fd = (l[0] - l[1]) / (2 * eps);
            assertEquals(fd, gu, 1e-2 * Math.max(Math.abs(fd), 1e-3), arch + " directional derivative with dropout");
        }
    }

    /**
     * The heads that read only each sequence's first token get a last layer computed for those rows only: its
     * outputs, under train-mode dropout (the same draws), and every parameter's gradient equal the full
     * encoder's first rows, and a causal model's too.
     */
    @ParameterizedTest
    @CsvSource({
        "xlm-roberta, XLMRobertaForSequenceClassification, false",
        "xlm-roberta, XLMRobertaForSequenceClassification, true",
        "xlm-roberta-xl, XLMRobertaXLForSequenceClassification, false",
    })
    void firstTokenEncoderEqualsTheFullEncodersFirstRows(String modelType, String arch, boolean causal) {
        String json = """
                {"model_type": "%s", "architectures": ["%s"], "vocab_size": %d, "hidden_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": 3, "intermediate_size": %d,
                 "max_position_embeddings": %d, "type_vocab_size": 2, "pad_token_id": 1,
                 "layer_norm_eps": 1e-5, "is_decoder": %b, "num_labels": 3}
                """.formatted(modelType, arch, VOCAB, HIDDEN, LAYERS, INTER, MAXPOS, causal);
        ModelConfig config = ModelConfig.parse(json, "test config");
        Random rnd = new Random(arch.hashCode() + 11L);
        Parameters params = randomParameters(config, 3, rnd);
        TrainBatch batch = batch(config, 3, "single_label_classification", rnd);
        float[] u = new float[4 * HIDDEN]; // a fixed direction to weigh the outputs by: loss = sum(h * u)
        for (int i = 0; i < u.length; i++) {
            u[i] = (float) rnd.nextGaussian();
        }
        try (Kernels k = dev.xlmr.engine.KernelProvider.create(null, 2)) {
            Map<String, float[]>[] grads = new Map[2];
            float[][] outs = new float[2][];
            for (int way = 0; way < 2; way++) {
                FastModel m = FastModel.of(new TrainableModel(config, params, "single_label_classification"), k);
                FastModel.Packing pk = m.pack(batch);
                Tape t = new Tape();
                FVar h = m.encode(t, batch, pk, new Dropout(0.3, 0.2, 0.4, 5), way == 0);
                if (way == 1) {
                    h = Fp32Ops.rows(t, h, pk.firstTokens());
                }
                assertEquals(4 * HIDDEN, h.size());
                outs[way] = h.data.clone();
                FVar weights = new FVar(new int[] {1, HIDDEN}, java.util.Arrays.copyOf(u, HIDDEN));
                FVar loss = Fp32Ops.mse(t, Fp32Ops.linear(t, h, weights, null, k), new double[4]);
                m.zeroGrad();
                m.backward(t, loss, 1f);
                grads[way] = new LinkedHashMap<>();
                for (var e : m.parameters().entrySet()) {
                    grads[way].put(e.getKey(), e.getValue().grad().clone());
                }
            }
            Fp32Test.close(toDouble(outs[1]), toDouble(outs[0]), 1e-6, arch + " first rows");
            for (String name : grads[0].keySet()) {
                Fp32Test.close(toDouble(grads[1].get(name)), toDouble(grads[0].get(name)), 1e-5, arch + " grad " + name);
            }
        }
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** Rows of 11, 7, 4 and 1 real tokens (then padding), the fourth left-padded; multiple choice: 2 x 3 rows. */
    static TrainBatch batch(ModelConfig config, int labels, String problemType, Random rnd) {
        boolean mc = config.head() == Head.MULTIPLE_CHOICE;
        int rows = mc ? 6 : 4;
        int[] lens = {11, 7, 4, 1};
        int[][] ids = new int[rows][SEQ];
        int[][] mask = new int[rows][SEQ];
        int[][] types = new int[rows][SEQ];
        for (int r = 0; r < rows; r++) {
            int len = lens[r % 4];
            boolean left = r % 4 == 3;
            for (int s = 0; s < SEQ; s++) {
                int at = left ? s - (SEQ - len) : s;
                boolean real = at >= 0 && at < len;
                ids[r][s] = real ? (at == 0 ? 0 : 2 + rnd.nextInt(VOCAB - 2)) : 1;
                mask[r][s] = real ? 1 : 0;
                types[r][s] = real && at >= 2 ? 1 : 0;
            }
        }
        double[] lab;
        boolean integral = true;
        int[] start = null;
        int[] end = null;
        switch (config.head()) {
            case SEQUENCE_CLASSIFICATION -> {
                if ("regression".equals(problemType)) {
                    lab = new double[] {0.5, -1.25, 2, 0.75};
                    integral = false;
                } else if ("multi_label_classification".equals(problemType)) {
                    lab = new double[] {1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0};
                    integral = false;
                } else {
                    lab = new double[] {2, 0, 1, 1};
                }
            }
            case MULTIPLE_CHOICE -> lab = new double[] {2, 0};
            case QUESTION_ANSWERING -> {
                lab = null;
                start = new int[] {1, 15, 0, 10}; // 15 is past the sequence: clamped, then ignored
                end = new int[] {3, 2, -4, 10};   // -4 clamps to 0
            }
            default -> {
                // per token; padding is ignored (-100) but for one padded position, which is then computed
                lab = new double[rows * SEQ];
                int vocab = config.head() == Head.TOKEN_CLASSIFICATION ? labels : VOCAB;
                for (int r = 0; r < rows; r++) {
                    for (int s = 0; s < SEQ; s++) {
                        boolean scored = mask[r][s] != 0 ? !(s == 1 && r == 1) : r == 2 && s == 8;
                        lab[r * SEQ + s] = scored ? rnd.nextInt(vocab) : -100;
                    }
                }
            }
        }
        return new TrainBatch(ids, mask, types, mc ? 3 : 0, lab, integral, start, end);
    }

    static Parameters randomParameters(ModelConfig config, int labels, Random rnd) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        String e = "roberta.embeddings.";
        shapes.put(e + "word_embeddings.weight", new int[] {VOCAB, HIDDEN});
        shapes.put(e + "position_embeddings.weight", new int[] {MAXPOS, HIDDEN});
        shapes.put(e + "token_type_embeddings.weight", new int[] {2, HIDDEN});
        boolean xl = config.preLayerNorm();
        if (!xl) {
            norm(shapes, e + "LayerNorm");
        }
        for (int l = 0; l < LAYERS; l++) {
            String p = "roberta.encoder.layer." + l + ".";
            dense(shapes, p + "attention.self.query", HIDDEN, HIDDEN);
            dense(shapes, p + "attention.self.key", HIDDEN, HIDDEN);
            dense(shapes, p + "attention.self.value", HIDDEN, HIDDEN);
            dense(shapes, p + "attention.output.dense", HIDDEN, HIDDEN);
            norm(shapes, xl ? p + "attention.self_attn_layer_norm" : p + "attention.output.LayerNorm");
            dense(shapes, p + "intermediate.dense", INTER, HIDDEN);
            dense(shapes, p + "output.dense", HIDDEN, INTER);
            norm(shapes, xl ? p + "LayerNorm" : p + "output.LayerNorm");
        }
        if (xl) {
            norm(shapes, "roberta.encoder.LayerNorm");
        }
        switch (config.head()) {
            case SEQUENCE_CLASSIFICATION -> {
                dense(shapes, "classifier.dense", HIDDEN, HIDDEN);
                dense(shapes, "classifier.out_proj", labels, HIDDEN);
            }
            case TOKEN_CLASSIFICATION -> dense(shapes, "classifier", labels, HIDDEN);
            case QUESTION_ANSWERING -> dense(shapes, "qa_outputs", 2, HIDDEN);
            case MULTIPLE_CHOICE -> {
                dense(shapes, "roberta.pooler.dense", HIDDEN, HIDDEN);
                dense(shapes, "classifier", 1, HIDDEN);
            }
            default -> {
                dense(shapes, "lm_head.dense", HIDDEN, HIDDEN);
                norm(shapes, "lm_head.layer_norm");
                shapes.put("lm_head.bias", new int[] {VOCAB});
            }
        }
        Map<String, Var> vars = new LinkedHashMap<>();
        shapes.forEach((name, shape) -> {
            Var v = GradCheck.random(rnd, 0.3, shape);
            if (name.endsWith("LayerNorm.weight") || name.endsWith("layer_norm.weight")) {
                for (int i = 0; i < v.size(); i++) {
                    v.data[i] += 1;
                }
            }
            vars.put(name, v);
        });
        return new Parameters(vars);
    }

    private static void dense(Map<String, int[]> shapes, String prefix, int out, int in) {
        shapes.put(prefix + ".weight", new int[] {out, in});
        shapes.put(prefix + ".bias", new int[] {out});
    }

    private static void norm(Map<String, int[]> shapes, String prefix) {
        shapes.put(prefix + ".weight", new int[] {HIDDEN});
        shapes.put(prefix + ".bias", new int[] {HIDDEN});
    }
}
