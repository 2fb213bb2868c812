package dev.xlmr.train;

import dev.xlmr.engine.Kernels;
import dev.xlmr.model.Activation;
import dev.xlmr.model.ModelConfig;

/**
 * XLM-R with its head as a differentiable function of its {@link Parameters}: the forward pass of
 * transformers' modeling_xlm_roberta (post-LayerNorm) and modeling_xlm_roberta_xl (pre-LayerNorm)
 * built from {@link Fn} ops, and the loss each head computes from labels. Dropout is applied where
 * transformers applies it when a {@link Dropout} is passed (train mode), and off with null (eval
 * arithmetic, as in the reference runs).
 *
 * <pre>{@code
 * TrainableModel m = new TrainableModel(config, params, null);
 * Tape t = new Tape();
 * Var loss = m.loss(t, batch);
 * t.backward(loss); // params' grads now hold d loss / d param
 * }</pre>
 */
public final class TrainableModel {
    private final ModelConfig config;
    private final Parameters p;
    private final String problemType;
    private Kernels kernels;

    /**
     * @param problemType the sequence-classification loss ("regression", "single_label_classification",
     *     "multi_label_classification"); null: config.json's, else chosen from num_labels and the labels' type
     */
    public TrainableModel(ModelConfig config, Parameters params, String problemType) {
        if (config.hiddenAct() != Activation.GELU) {
            throw new IllegalArgumentException("training supports hidden_act gelu only, not " + config.hiddenAct());
        }
        this.config = config;
        this.p = params;
        this.problemType = problemType != null ? problemType : config.problemType();
    }

    /**
     * Runs the matrix products of the dense layers and attention in fp32 on these kernels
     * ({@link Fp32Linear}, {@link Fp32Attention}); null: the float64 reference ({@link Fn}).
     * Parameters, gradients and every other op stay float64.
     */
    public TrainableModel withKernels(Kernels k) {
        this.kernels = k;
        return this;
    }

    public ModelConfig config() {
        return config;
    }

    public Parameters parameters() {
        return p;
    }

    /** The sequence-classification loss this model was made with (null: chosen from labels). */
    String problemType() {
        return problemType;
    }

    /** The encoder's last hidden state [rows * seq, hidden]. */
    Var encode(Tape t, TrainBatch batch, Dropout drop) {
        int rows = batch.rows();
        int seq = batch.seq();
        int pad = config.padTokenId();
        int[] ids = new int[rows * seq];
        int[] pos = new int[rows * seq];
        int[] types = new int[rows * seq];
        for (int r = 0; r < rows; r++) {
            if (batch.inputIds()[r].length != seq) {
                throw new IllegalArgumentException("input_ids row " + r + " has " + batch.inputIds()[r].length
                        + " tokens, the first has " + seq);
            }
            int count = 0;
            for (int s = 0; s < seq; s++) {
                int id = batch.inputIds()[r][s];
                ids[r * seq + s] = id;
                // create_position_ids_from_input_ids: real tokens count from padding_idx + 1, padding stays at padding_idx
                count += id != pad ? 1 : 0;
                pos[r * seq + s] = id != pad ? count + pad : pad;
                if (pos[r * seq + s] >= config.maxPositionEmbeddings()) {
                    throw new IllegalArgumentException("sequence " + r + " is longer than the model's "
                            + config.maxSequenceLength() + " positions");
                }
                types[r * seq + s] = batch.tokenTypeIds() == null ? 0 : batch.tokenTypeIds()[r][s];
            }
        }
        boolean xl = config.preLayerNorm();
        double eps = config.layerNormEps();
        Var e = Fn.embedding(t, p.encoder("embeddings.word_embeddings.weight"), ids, pad);
        e = Fn.add(t, e, Fn.embedding(t, p.encoder("embeddings.token_type_embeddings.weight"), types, -1));
        e = Fn.add(t, e, Fn.embedding(t, p.encoder("embeddings.position_embeddings.weight"), pos, pad));
        Var h = Dropout.hidden(t, xl ? e : Fn.layerNorm(t, e, p.encoder("embeddings.LayerNorm.weight"),
                p.encoder("embeddings.LayerNorm.bias"), eps), drop);
        int[][] mask = batch.attentionMask();
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            String pre = "encoder.layer." + l + ".";
            Var attnIn = xl ? Fn.layerNorm(t, h, w(pre + "attention.self_attn_layer_norm.weight"),
                    w(pre + "attention.self_attn_layer_norm.bias"), eps) : h;
            Var q = linear(t, attnIn, pre + "attention.self.query");
            Var k = linear(t, attnIn, pre + "attention.self.key");
            Var v = linear(t, attnIn, pre + "attention.self.value");
            int heads = config.numAttentionHeads();
            double[] probMask = Dropout.attention(drop, rows * heads * seq * seq);
            Var ctx = kernels == null ? Fn.attention(t, q, k, v, rows, seq, heads, mask, config.isDecoder(), probMask)
                    : Fp32Attention.attention(t, q, k, v, rows, seq, heads, mask, config.isDecoder(), probMask, kernels);
            Var attn = Fn.add(t, Dropout.hidden(t, linear(t, ctx, pre + "attention.output.dense"), drop), h);
            if (xl) {
                Var ffIn = Fn.layerNorm(t, attn, w(pre + "LayerNorm.weight"), w(pre + "LayerNorm.bias"), eps);
                Var inter = Fn.gelu(t, linear(t, ffIn, pre + "intermediate.dense"));
                h = Fn.add(t, Dropout.hidden(t, linear(t, inter, pre + "output.dense"), drop), attn);
            } else {
                attn = Fn.layerNorm(t, attn, w(pre + "attention.output.LayerNorm.weight"),
                        w(pre + "attention.output.LayerNorm.bias"), eps);
                Var inter = Fn.gelu(t, linear(t, attn, pre + "intermediate.dense"));
                h = Fn.layerNorm(t, Fn.add(t, Dropout.hidden(t, linear(t, inter, pre + "output.dense"), drop), attn),
                        w(pre + "output.LayerNorm.weight"), w(pre + "output.LayerNorm.bias"), eps);
            }
        }
        if (xl) {
            h = Fn.layerNorm(t, h, w("encoder.LayerNorm.weight"), w("encoder.LayerNorm.bias"), eps);
        }
        return h;
    }

    private Var w(String name) {
        return p.encoder(name);
    }

    private Var linear(Tape t, Var x, String prefix) {
        return lin(t, x, p.encoder(prefix + ".weight"), p.encoder(prefix + ".bias"));
    }

    private Var headLinear(Tape t, Var x, String prefix) {
        return lin(t, x, p.get(prefix + ".weight"), p.get(prefix + ".bias"));
    }

    private Var lin(Tape t, Var x, Var w, Var b) {
        return kernels == null ? Fn.linear(t, x, w, b) : Fp32Linear.linear(t, x, w, b, kernels);
    }

    /** The rows of the first token of each sequence. */
    private static int[] firstTokens(int rows, int seq) {
        int[] idx = new int[rows];
        for (int r = 0; r < rows; r++) {
            idx[r] = r * seq;
        }
        return idx;
    }

    /** The loss the head computes from the batch's labels, as transformers' forward with labels does (dropout off). */
    public Var loss(Tape t, TrainBatch batch) {
        return loss(t, batch, null);
    }

    /** The loss with train-mode dropout from {@code drop} (null: off). */
    public Var loss(Tape t, TrainBatch batch, Dropout drop) {
        return lossOf(t, logits(t, batch, drop), batch);
    }

    /**
     * The head's outputs: [rows, labels] for sequence classification, [rows * seq, labels] for token
     * classification, [rows * seq, 2] (start, end) for question answering, [rows * seq, vocab] for
     * the LMs, [rows / choices, choices] for multiple choice.
     */
    public Var logits(Tape t, TrainBatch batch, Dropout drop) {
        Var h = encode(t, batch, drop);
        int rows = batch.rows();
        int seq = batch.seq();
        return switch (config.head()) {
            case SEQUENCE_CLASSIFICATION -> {
                // XLMRobertaClassificationHead: <s> token, dropout, dense, tanh, dropout, out_proj
                Var x = Dropout.classifier(t, Fn.rows(t, h, firstTokens(rows, seq)), drop);
                x = Dropout.classifier(t, Fn.tanh(t, headLinear(t, x, "classifier.dense")), drop);
                yield headLinear(t, x, "classifier.out_proj");
            }
            case TOKEN_CLASSIFICATION -> headLinear(t, Dropout.classifier(t, h, drop), "classifier");
            case QUESTION_ANSWERING -> headLinear(t, h, "qa_outputs");
            case MASKED_LM, CAUSAL_LM -> lmHead(t, h);
            case MULTIPLE_CHOICE -> {
                int choices = batch.choices();
                if (choices < 1 || rows % choices != 0) {
                    throw new IllegalArgumentException("multiple choice needs [batch][choices][seq] inputs");
                }
                Var pooled = Fn.tanh(t, lin(t, Fn.rows(t, h, firstTokens(rows, seq)),
                        p.encoder("pooler.dense.weight"), p.encoder("pooler.dense.bias")));
                // XLMRobertaForMultipleChoice drops out with hidden_dropout_prob, not classifier_dropout
                yield headLinear(t, Dropout.hidden(t, pooled, drop), "classifier").view(rows / choices, choices);
            }
            case BASE -> throw new IllegalArgumentException("XLMRobertaModel has no head to train; "
                    + "use a checkpoint whose architectures names a task head");
        };
    }

    Var lossOf(Tape t, Var logits, TrainBatch batch) {
        int rows = batch.rows();
        int seq = batch.seq();
        return switch (config.head()) {
            case SEQUENCE_CLASSIFICATION -> sequenceLoss(t, logits, batch);
            case TOKEN_CLASSIFICATION, MASKED_LM -> Fn.crossEntropy(t, logits, labels(batch, rows * seq), -100);
            case QUESTION_ANSWERING -> {
                // positions outside the sequence are clamped to seq and then ignored, as transformers does
                Var start = Fn.crossEntropy(t, Fn.column(t, logits, 0).view(rows, seq),
                        clamp(batch.startPositions(), rows, seq, "start_positions"), seq);
                Var end = Fn.crossEntropy(t, Fn.column(t, logits, 1).view(rows, seq),
                        clamp(batch.endPositions(), rows, seq, "end_positions"), seq);
                yield Fn.scale(t, Fn.add(t, start, end), 0.5);
            }
            case CAUSAL_LM -> {
                // the prediction at position i is scored against the label at i + 1
                int[] l = labels(batch, rows * seq);
                int[] shifted = new int[l.length];
                for (int r = 0; r < rows; r++) {
                    for (int s = 0; s < seq; s++) {
                        shifted[r * seq + s] = s + 1 < seq ? l[r * seq + s + 1] : -100;
                    }
                }
                yield Fn.crossEntropy(t, logits, shifted, -100);
            }
            case MULTIPLE_CHOICE -> Fn.crossEntropy(t, logits, labels(batch, rows / batch.choices()), -100);
            case BASE -> throw new IllegalStateException("no head");
        };
    }

    /** lm_head: dense, gelu, layer_norm, then the decoder tied to the word embeddings, plus lm_head.bias. */
    private Var lmHead(Tape t, Var h) {
        Var x = Fn.gelu(t, headLinear(t, h, "lm_head.dense"));
        x = Fn.layerNorm(t, x, p.get("lm_head.layer_norm.weight"), p.get("lm_head.layer_norm.bias"),
                config.layerNormEps());
        Var decoder = config.tieWordEmbeddings() ? p.encoder("embeddings.word_embeddings.weight")
                : p.get("lm_head.decoder.weight");
        return lin(t, x, decoder, p.get("lm_head.bias"));
    }

    private Var sequenceLoss(Tape t, Var logits, TrainBatch batch) {
        int numLabels = logits.dim(-1);
        String type = problemType;
        if (type == null) {
            type = numLabels == 1 ? "regression"
                    : batch.labelsIntegral() ? "single_label_classification" : "multi_label_classification";
        }
        int rows = logits.rows();
        return switch (type) {
            case "regression" -> Fn.mse(t, logits, floatLabels(batch, numLabels == 1 ? rows : rows * numLabels));
            case "single_label_classification" -> Fn.crossEntropy(t, logits, labels(batch, rows), -100);
            case "multi_label_classification" -> Fn.bceWithLogits(t, logits, floatLabels(batch, rows * numLabels));
            default -> throw new IllegalArgumentException("unknown problem_type '" + type
                    + "' (regression, single_label_classification, multi_label_classification)");
        };
    }

    private static double[] floatLabels(TrainBatch batch, int n) {
        if (batch.labels() == null || batch.labels().length != n) {
            throw new IllegalArgumentException("expected " + n + " labels, got "
                    + (batch.labels() == null ? "none" : batch.labels().length));
        }
        return batch.labels();
    }

    private static int[] labels(TrainBatch batch, int n) {
        floatLabels(batch, n);
        return batch.intLabels();
    }

    private static int[] clamp(int[] positions, int rows, int seq, String what) {
        if (positions == null || positions.length != rows) {
            throw new IllegalArgumentException("question answering needs " + rows + " " + what);
        }
        int[] out = new int[rows];
        for (int i = 0; i < rows; i++) {
            out[i] = Math.clamp(positions[i], 0, seq);
        }
        return out;
    }
}
