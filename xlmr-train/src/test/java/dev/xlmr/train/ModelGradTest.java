package dev.xlmr.train;

import dev.xlmr.model.ModelConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Finite-difference checks of the whole model's backward for every head and loss on a tiny random
 * model (odd sizes: vocab 13, hidden 6, 3 heads, intermediate 7, 2 layers, 3 sequences of 5 tokens
 * with padding), every parameter element checked.
 */
class ModelGradTest {
    static final int VOCAB = 13;
    static final int HIDDEN = 6;
    static final int INTER = 7;
    static final int LAYERS = 2;
    static final int MAXPOS = 9;

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
    void wholeModelBackwardMatchesFiniteDifferences(String modelType, String arch, String problemType) {
        boolean causal = arch.endsWith("CausalLM");
        int labels = "regression".equals(problemType) ? 1 : 3;
        String json = """
                {"model_type": "%s", "architectures": ["%s"], "vocab_size": %d, "hidden_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": 3, "intermediate_size": %d,
                 "max_position_embeddings": %d, "type_vocab_size": 2, "pad_token_id": 1,
                 "layer_norm_eps": 1e-5, "is_decoder": %b, "num_labels": %d}
                """.formatted(modelType, arch, VOCAB, HIDDEN, LAYERS, INTER, MAXPOS, causal, labels);
        ModelConfig config = ModelConfig.parse(json, "test config");
        Random rnd = new Random(arch.hashCode() + modelType.hashCode());
        Parameters params = randomParameters(config, labels, rnd);
        TrainableModel model = new TrainableModel(config, params, problemType);
        TrainBatch batch = batch(config, labels, problemType, rnd);
        // The padding rows of the word and position embeddings get no gradient by definition
        // (padding_idx), though QA's softmax over all positions does see the padding tokens.
        java.util.List<String> names = new java.util.ArrayList<>(params.all().keySet());
        java.util.function.BiPredicate<Integer, Integer> padRow = (k, i) ->
                config.head() == dev.xlmr.model.Head.QUESTION_ANSWERING
                        && (names.get(k).endsWith("word_embeddings.weight") || names.get(k).endsWith("position_embeddings.weight"))
                        && i / HIDDEN == config.padTokenId();
        GradCheck.check(arch + " " + problemType, t -> model.loss(t, batch), padRow,
                params.all().values().toArray(Var[]::new));
    }

    /** The same with train-mode dropout: each forward draws the same masks from a fresh generator of one seed. */
    @ParameterizedTest
    @CsvSource({
        "xlm-roberta, XLMRobertaForSequenceClassification, single_label_classification",
        "xlm-roberta, XLMRobertaForTokenClassification, ",
        "xlm-roberta, XLMRobertaForMultipleChoice, ",
        "xlm-roberta, XLMRobertaForMaskedLM, ",
        "xlm-roberta-xl, XLMRobertaXLForSequenceClassification, single_label_classification",
    })
    void backwardWithDropoutMatchesFiniteDifferences(String modelType, String arch, String problemType) {
        int labels = 3;
        String json = """
                {"model_type": "%s", "architectures": ["%s"], "vocab_size": %d, "hidden_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": 3, "intermediate_size": %d,
                 "max_position_embeddings": %d, "type_vocab_size": 2, "pad_token_id": 1,
                 "layer_norm_eps": 1e-5, "num_labels": %d}
                """.formatted(modelType, arch, VOCAB, HIDDEN, LAYERS, INTER, MAXPOS, labels);
        ModelConfig config = ModelConfig.parse(json, "test config");
        Random rnd = new Random(arch.hashCode() + 17);
        Parameters params = randomParameters(config, labels, rnd);
        TrainableModel model = new TrainableModel(config, params, problemType);
        TrainBatch batch = batch(config, labels, problemType, rnd);
        double eval = model.loss(new Tape(), batch).item();
        double train = model.loss(new Tape(), batch, new Dropout(0.3, 0.2, 0.4, 5)).item();
        org.junit.jupiter.api.Assertions.assertNotEquals(eval, train, "dropout changes the loss");
        org.junit.jupiter.api.Assertions.assertEquals(eval, model.loss(new Tape(), batch, new Dropout(0, 0, 0, 5)).item(),
                "rates of 0 are eval arithmetic");
        GradCheck.check(arch + " dropout", t -> model.loss(t, batch, new Dropout(0.3, 0.2, 0.4, 5)),
                params.all().values().toArray(Var[]::new));
    }

    static TrainBatch batch(ModelConfig config, int labels, String problemType, Random rnd) {
        boolean mc = config.head() == dev.xlmr.model.Head.MULTIPLE_CHOICE;
        int rows = mc ? 6 : 3; // multiple choice: 2 examples x 3 choices
        int seq = 5;
        int[][] ids = new int[rows][seq];
        int[][] mask = new int[rows][seq];
        int[][] types = new int[rows][seq];
        for (int r = 0; r < rows; r++) {
            int len = seq - r % 3; // 5, 4, 3 real tokens, then padding
            for (int s = 0; s < seq; s++) {
                boolean real = s < len;
                ids[r][s] = real ? (s == 0 ? 0 : 2 + rnd.nextInt(VOCAB - 2)) : 1;
                mask[r][s] = real ? 1 : 0;
                types[r][s] = real && s >= 2 ? 1 : 0;
            }
        }
        double[] lab;
        boolean integral = true;
        int[] start = null;
        int[] end = null;
        switch (config.head()) {
            case SEQUENCE_CLASSIFICATION -> {
                if ("regression".equals(problemType)) {
                    lab = new double[] {0.5, -1.25, 2};
                    integral = false;
                } else if ("multi_label_classification".equals(problemType)) {
                    lab = new double[] {1, 0, 1, 0, 0, 1, 1, 1, 0};
                    integral = false;
                } else {
                    lab = new double[] {2, 0, 1};
                }
            }
            case MULTIPLE_CHOICE -> lab = new double[] {2, 0};
            case QUESTION_ANSWERING -> {
                lab = null;
                start = new int[] {1, 9, 0}; // 9 is past the sequence: clamped, then ignored
                end = new int[] {3, 2, -4};  // -4 clamps to 0
            }
            default -> {
                // per token; padding positions are ignored (-100)
                lab = new double[rows * seq];
                int vocab = config.head() == dev.xlmr.model.Head.TOKEN_CLASSIFICATION ? labels : VOCAB;
                for (int r = 0; r < rows; r++) {
                    for (int s = 0; s < seq; s++) {
                        lab[r * seq + s] = mask[r][s] == 0 || (s == 1 && r == 1) ? -100 : rnd.nextInt(vocab);
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
            Var v = GradCheck.random(rnd, 0.5, shape);
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
