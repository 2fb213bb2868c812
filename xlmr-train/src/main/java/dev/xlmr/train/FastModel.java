package dev.xlmr.train;

import dev.xlmr.engine.Kernels;
import dev.xlmr.model.Head;
import dev.xlmr.model.ModelConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The fp32 training path: XLM-R and its head as {@link TrainableModel} computes them, with fp32
 * master weights and gradients ({@link FVar}), the matrix products on the engine's kernels and
 * packed sequences: only the tokens something reads are computed (the attention mask's tokens, plus
 * padded positions whose label is scored; question answering keeps every position, since its
 * softmax runs over the padding too), attention runs per sequence over its own tokens. Losses,
 * gradients and AdamW steps equal the float64 reference's within fp32 rounding (tested on odd
 * sizes for every head); {@link TrainableModel} stays the reference that finite differences check
 * and {@code train-step} replays.
 *
 * <pre>{@code
 * FastModel m = FastModel.of(trainableModel, KernelProvider.best());
 * Tape t = new Tape();
 * FVar loss = m.loss(t, batch, null);
 * m.backward(t, loss, 1f); // params' grads now hold d loss / d param
 * }</pre>
 *
 * Dropout draws fp32 masks of the packed sizes from the {@link Dropout}'s generator, so a run with
 * dropout repeats exactly but does not draw the reference's masks (which cover the padding too).
 */
public final class FastModel {
    private final ModelConfig config;
    private final Map<String, FVar> p;
    private final String problemType;
    private final Kernels k;

    public FastModel(ModelConfig config, Map<String, FVar> params, String problemType, Kernels kernels) {
        if (config.hiddenAct() != dev.xlmr.model.Activation.GELU) {
            throw new IllegalArgumentException("training supports hidden_act gelu only, not " + config.hiddenAct());
        }
        this.config = config;
        this.p = new LinkedHashMap<>(params);
        this.problemType = problemType;
        this.k = kernels;
    }

    /** The fp32 model of a float64 one: its parameters rounded to fp32 (copies; same names and order). */
    public static FastModel of(TrainableModel m, Kernels kernels) {
        Map<String, FVar> ps = new LinkedHashMap<>();
        m.parameters().all().forEach((name, v) -> ps.put(name, toFloat(v)));
        return new FastModel(m.config(), ps, m.problemType(), kernels);
    }

    static FVar toFloat(Var v) {
        float[] f = new float[v.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) v.data[i];
        }
        return new FVar(v.shape(), f);
    }

    public ModelConfig config() {
        return config;
    }

    /** The parameters by name, in checkpoint order (live). */
    public Map<String, FVar> parameters() {
        return java.util.Collections.unmodifiableMap(p);
    }

    String problemType() {
        return problemType;
    }

    public void zeroGrad() {
        p.values().forEach(FVar::zeroGrad);
    }

    /** Runs the backward of a loss recorded on {@code t}, scaled by {@code scale} (gradient accumulation). */
    public void backward(Tape t, FVar loss, float scale) {
        loss.grad()[0] += scale;
        t.runBackward();
    }

    private FVar w(String name) {
        FVar v = p.get("roberta." + name);
        return v != null ? v : param(name);
    }

    private FVar param(String name) {
        FVar v = p.get(name);
        if (v == null) {
            throw new dev.xlmr.model.CheckpointException("the model has no parameter '" + name + "'");
        }
        return v;
    }

    /**
     * Which tokens of a padded batch are computed: {@code pos[i]} is packed token i's index
     * {@code r * seq + s}, {@code index} the inverse (-1: not computed), sequence r packed tokens
     * {@code start[r] .. start[r] + len[r]}, {@code keyOk} whether a packed token may be attended to.
     */
    record Packing(int rows, int seq, int[] pos, int[] index, int[] start, int[] len, boolean[] keyOk) {
        int tokens() {
            return pos.length;
        }

        int[] firstTokens() {
            int[] idx = new int[rows];
            for (int r = 0; r < rows; r++) {
                idx[r] = index[r * seq];
            }
            return idx;
        }
    }

    Packing pack(TrainBatch b) {
        int rows = b.rows();
        int seq = b.seq();
        int[][] mask = b.attentionMask();
        Head head = config.head();
        boolean causal = config.isDecoder();
        int[] tokenLabels = head == Head.TOKEN_CLASSIFICATION || head == Head.MASKED_LM || head == Head.CAUSAL_LM
                ? labels(b, rows * seq) : null;
        int[] index = new int[rows * seq];
        int[] start = new int[rows];
        int[] len = new int[rows];
        int n = 0;
        int[] pos = new int[rows * seq];
        boolean[] keyOk = new boolean[rows * seq];
        for (int r = 0; r < rows; r++) {
            if (b.inputIds()[r].length != seq) {
                throw new IllegalArgumentException("input_ids row " + r + " has " + b.inputIds()[r].length
                        + " tokens, the first has " + seq);
            }
            boolean[] keep = new boolean[seq];
            boolean seenKey = false;
            boolean whole = head == Head.QUESTION_ANSWERING;
            for (int s = 0; s < seq; s++) {
                boolean key = mask == null || mask[r][s] != 0;
                boolean scored = tokenLabels != null && (head == Head.CAUSAL_LM
                        ? s + 1 < seq && tokenLabels[r * seq + s + 1] != -100 : tokenLabels[r * seq + s] != -100);
                keep[s] = key || scored || s == 0;
                seenKey |= key;
                // a kept query with no key to attend to attends to all keys equally: keep the sequence whole
                if (keep[s] && causal && !seenKey) {
                    whole = true;
                }
            }
            if (!seenKey) {
                whole = true;
            }
            start[r] = n;
            for (int s = 0; s < seq; s++) {
                index[r * seq + s] = -1;
                if (whole || keep[s]) {
                    index[r * seq + s] = n;
                    pos[n] = r * seq + s;
                    keyOk[n] = mask == null || mask[r][s] != 0;
                    n++;
                }
            }
            len[r] = n - start[r];
        }
        return new Packing(rows, seq, java.util.Arrays.copyOf(pos, n), index, start, len, java.util.Arrays.copyOf(keyOk, n));
    }

    /**
     * The encoder's last hidden state of the packed tokens [tokens, hidden]; with {@code firstOnly}, of each
     * sequence's first token only [rows, hidden], for the heads that read nothing else: the last layer then
     * computes keys and values of every token but queries, attention output and feed-forward only for the
     * first tokens (the other rows cannot reach the loss), with the same dropout draws as the full layer.
     */
    FVar encode(Tape t, TrainBatch batch, Packing pk, Dropout drop, boolean firstOnly) {
        int seq = batch.seq();
        int pad = config.padTokenId();
        int n = pk.tokens();
        int[] ids = new int[n];
        int[] positions = new int[n];
        int[] types = new int[n];
        int[] rowPos = new int[seq];
        for (int r = 0; r < pk.rows(); r++) {
            int count = 0;
            for (int s = 0; s < seq; s++) {
                int id = batch.inputIds()[r][s];
                // create_position_ids_from_input_ids: real tokens count from padding_idx + 1, padding stays at padding_idx
                count += id != pad ? 1 : 0;
                rowPos[s] = id != pad ? count + pad : pad;
                if (rowPos[s] >= config.maxPositionEmbeddings()) {
                    throw new IllegalArgumentException("sequence " + r + " is longer than the model's "
                            + config.maxSequenceLength() + " positions");
                }
            }
            for (int i = pk.start()[r]; i < pk.start()[r] + pk.len()[r]; i++) {
                int s = pk.pos()[i] - r * seq;
                ids[i] = batch.inputIds()[r][s];
                positions[i] = rowPos[s];
                types[i] = batch.tokenTypeIds() == null ? 0 : batch.tokenTypeIds()[r][s];
            }
        }
        boolean xl = config.preLayerNorm();
        float eps = (float) config.layerNormEps();
        FVar e = Fp32Ops.embeddings(t, w("embeddings.word_embeddings.weight"), w("embeddings.token_type_embeddings.weight"),
                w("embeddings.position_embeddings.weight"), ids, types, positions, pad);
        FVar h = hidden(t, xl ? e : Fp32Ops.layerNorm(t, e, null, w("embeddings.LayerNorm.weight"),
                w("embeddings.LayerNorm.bias"), eps), drop);
        int heads = config.numAttentionHeads();
        int rows = pk.rows();
        int[] first = pk.firstTokens();
        int[] firstAt = new int[rows];
        int[] one = new int[rows];
        for (int r = 0; r < rows; r++) {
            firstAt[r] = r;
            one[r] = 1;
        }
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            String pre = "encoder.layer." + l + ".";
            boolean last = firstOnly && l == config.numHiddenLayers() - 1;
            int[] keep = last ? first : null; // the rows this layer outputs (null: all)
            FVar attnIn = xl ? Fp32Ops.layerNorm(t, h, null, w(pre + "attention.self_attn_layer_norm.weight"),
                    w(pre + "attention.self_attn_layer_norm.bias"), eps) : h;
            FVar q = linear(t, last ? Fp32Ops.rows(t, attnIn, first) : attnIn, pre + "attention.self.query");
            FVar kk = linear(t, attnIn, pre + "attention.self.key");
            FVar v = linear(t, attnIn, pre + "attention.self.value");
            float[][] probMasks = null;
            if (drop != null && drop.attention() > 0) {
                probMasks = new float[rows][];
                for (int r = 0; r < rows; r++) {
                    int len = pk.len()[r];
                    float[] m = drop.floatMask(heads * len * len, drop.attention());
                    if (last) { // the first query's row of each head
                        float[] m1 = new float[heads * len];
                        for (int hh = 0; hh < heads; hh++) {
                            System.arraycopy(m, hh * len * len, m1, hh * len, len);
                        }
                        m = m1;
                    }
                    probMasks[r] = m;
                }
            }
            // queries: every token, or in the last layer each sequence's first (row r of q)
            FVar ctx = Fp32Ops.attention(t, q, kk, v, pk.start(), pk.len(), last ? firstAt : pk.start(),
                    last ? one : pk.len(), pk.keyOk(), heads, config.isDecoder(), probMasks, k);
            FVar attnOut = hidden(t, linear(t, ctx, pre + "attention.output.dense"), drop, keep, n);
            FVar res = last ? Fp32Ops.rows(t, h, first) : h;
            if (xl) {
                FVar attn = Fp32Ops.add(t, attnOut, res);
                FVar ffIn = Fp32Ops.layerNorm(t, attn, null, w(pre + "LayerNorm.weight"), w(pre + "LayerNorm.bias"), eps);
                FVar inter = Fp32Ops.gelu(t, linear(t, ffIn, pre + "intermediate.dense"));
                h = Fp32Ops.add(t, hidden(t, linear(t, inter, pre + "output.dense"), drop, keep, n), attn);
            } else {
                FVar attn = Fp32Ops.layerNorm(t, attnOut, res, w(pre + "attention.output.LayerNorm.weight"),
                        w(pre + "attention.output.LayerNorm.bias"), eps);
                FVar inter = Fp32Ops.gelu(t, linear(t, attn, pre + "intermediate.dense"));
                h = Fp32Ops.layerNorm(t, hidden(t, linear(t, inter, pre + "output.dense"), drop, keep, n), attn,
                        w(pre + "output.LayerNorm.weight"), w(pre + "output.LayerNorm.bias"), eps);
            }
        }
        if (firstOnly && config.numHiddenLayers() == 0) {
            h = Fp32Ops.rows(t, h, first);
        }
        if (xl) {
            h = Fp32Ops.layerNorm(t, h, null, w("encoder.LayerNorm.weight"), w("encoder.LayerNorm.bias"), eps);
        }
        return h;
    }

    private static FVar hidden(Tape t, FVar x, Dropout d) {
        return d == null ? x : Fp32Ops.dropout(t, x, d.floatMask(x.size(), d.hidden()));
    }

    /**
     * Hidden dropout of rows {@code keep} of a [tokens, c] output computed for those rows only (keep null: x is
     * all of it): the mask is drawn for all tokens, as the full output's would be, and its rows kept.
     */
    private static FVar hidden(Tape t, FVar x, Dropout d, int[] keep, int tokens) {
        if (keep == null || d == null) {
            return hidden(t, x, d);
        }
        int c = x.cols();
        float[] full = d.floatMask(tokens * c, d.hidden());
        if (full == null) {
            return x;
        }
        float[] m = new float[keep.length * c];
        for (int r = 0; r < keep.length; r++) {
            System.arraycopy(full, keep[r] * c, m, r * c, c);
        }
        return Fp32Ops.dropout(t, x, m);
    }

    private static FVar classifier(Tape t, FVar x, Dropout d) {
        return d == null ? x : Fp32Ops.dropout(t, x, d.floatMask(x.size(), d.classifier()));
    }

    private FVar linear(Tape t, FVar x, String prefix) {
        return Fp32Ops.linear(t, x, w(prefix + ".weight"), w(prefix + ".bias"), k);
    }

    private FVar headLinear(Tape t, FVar x, String prefix) {
        return Fp32Ops.linear(t, x, param(prefix + ".weight"), param(prefix + ".bias"), k);
    }

    /** The head's outputs and the packing they were computed with. */
    record Out(FVar logits, Packing packing) {}

    /**
     * The head's outputs: [rows, labels] for sequence classification, [rows / choices, choices] for
     * multiple choice, and for the per-token heads one row per packed token ([tokens, labels],
     * [tokens, 2], [tokens, vocab]).
     */
    Out logits(Tape t, TrainBatch batch, Dropout drop) {
        Packing pk = pack(batch);
        // sequence classification and multiple choice read each sequence's first token only
        boolean firstOnly = config.head() == Head.SEQUENCE_CLASSIFICATION || config.head() == Head.MULTIPLE_CHOICE;
        FVar h = encode(t, batch, pk, drop, firstOnly);
        int rows = batch.rows();
        FVar out = switch (config.head()) {
            case SEQUENCE_CLASSIFICATION -> {
                FVar x = classifier(t, h, drop);
                x = classifier(t, Fp32Ops.tanh(t, headLinear(t, x, "classifier.dense")), drop);
                yield headLinear(t, x, "classifier.out_proj");
            }
            case TOKEN_CLASSIFICATION -> headLinear(t, classifier(t, h, drop), "classifier");
            case QUESTION_ANSWERING -> headLinear(t, h, "qa_outputs");
            case MASKED_LM, CAUSAL_LM -> {
                FVar x = Fp32Ops.gelu(t, headLinear(t, h, "lm_head.dense"));
                x = Fp32Ops.layerNorm(t, x, null, param("lm_head.layer_norm.weight"), param("lm_head.layer_norm.bias"),
                        (float) config.layerNormEps());
                FVar decoder = config.tieWordEmbeddings() ? w("embeddings.word_embeddings.weight")
                        : param("lm_head.decoder.weight");
                yield Fp32Ops.linear(t, x, decoder, param("lm_head.bias"), k);
            }
            case MULTIPLE_CHOICE -> {
                int choices = batch.choices();
                if (choices < 1 || rows % choices != 0) {
                    throw new IllegalArgumentException("multiple choice needs [batch][choices][seq] inputs");
                }
                FVar pooled = Fp32Ops.tanh(t, Fp32Ops.linear(t, h, w("pooler.dense.weight"), w("pooler.dense.bias"), k));
                // XLMRobertaForMultipleChoice drops out with hidden_dropout_prob, not classifier_dropout
                yield headLinear(t, hidden(t, pooled, drop), "classifier").view(rows / choices, choices);
            }
            case BASE -> throw new IllegalArgumentException("XLMRobertaModel has no head to train; "
                    + "use a checkpoint whose architectures names a task head");
        };
        return new Out(out, pk);
    }

    /** The loss the head computes from the batch's labels (dropout from {@code drop}, null: off). */
    public FVar loss(Tape t, TrainBatch batch, Dropout drop) {
        return lossOf(t, logits(t, batch, drop), batch);
    }

    FVar lossOf(Tape t, Out o, TrainBatch batch) {
        int rows = batch.rows();
        int seq = batch.seq();
        FVar logits = o.logits();
        Packing pk = o.packing();
        return switch (config.head()) {
            case SEQUENCE_CLASSIFICATION -> sequenceLoss(t, logits, batch);
            case TOKEN_CLASSIFICATION, MASKED_LM -> Fp32Ops.crossEntropy(t, logits, gather(labels(batch, rows * seq), pk), -100);
            case QUESTION_ANSWERING -> {
                // every position is kept for QA, so packed tokens are [rows][seq]
                FVar start = Fp32Ops.crossEntropy(t, Fp32Ops.column(t, logits, 0).view(rows, seq),
                        clamp(batch.startPositions(), rows, seq, "start_positions"), seq);
                FVar end = Fp32Ops.crossEntropy(t, Fp32Ops.column(t, logits, 1).view(rows, seq),
                        clamp(batch.endPositions(), rows, seq, "end_positions"), seq);
                yield Fp32Ops.scale(t, Fp32Ops.add(t, start, end), 0.5f);
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
                yield Fp32Ops.crossEntropy(t, logits, gather(shifted, pk), -100);
            }
            case MULTIPLE_CHOICE -> Fp32Ops.crossEntropy(t, logits, labels(batch, rows / batch.choices()), -100);
            case BASE -> throw new IllegalStateException("no head");
        };
    }

    private static int[] gather(int[] full, Packing pk) {
        int[] out = new int[pk.tokens()];
        for (int i = 0; i < out.length; i++) {
            out[i] = full[pk.pos()[i]];
        }
        return out;
    }

    private FVar sequenceLoss(Tape t, FVar logits, TrainBatch batch) {
        int numLabels = logits.cols();
        String type = problemType;
        if (type == null) {
            type = numLabels == 1 ? "regression"
                    : batch.labelsIntegral() ? "single_label_classification" : "multi_label_classification";
        }
        int rows = logits.rows();
        return switch (type) {
            case "regression" -> Fp32Ops.mse(t, logits, floatLabels(batch, numLabels == 1 ? rows : rows * numLabels));
            case "single_label_classification" -> Fp32Ops.crossEntropy(t, logits, labels(batch, rows), -100);
            case "multi_label_classification" -> Fp32Ops.bceWithLogits(t, logits, floatLabels(batch, rows * numLabels));
            default -> throw new IllegalArgumentException("unknown problem_type '" + type
                    + "' (regression, single_label_classification, multi_label_classification)");
        };
    }

    /**
     * The outputs in {@link TrainableModel#logits}'s layout, as float64 ([rows * seq, c] for the
     * per-token heads; positions that were not computed hold 0), for evaluation.
     */
    Var fullLogits(Out o, TrainBatch batch) {
        FVar l = o.logits();
        int c = l.cols();
        boolean perToken = switch (config.head()) {
            case TOKEN_CLASSIFICATION, QUESTION_ANSWERING, MASKED_LM, CAUSAL_LM -> true;
            default -> false;
        };
        if (!perToken) {
            return new Var(l.shape(), l.toDouble());
        }
        Packing pk = o.packing();
        Var v = new Var(pk.rows() * pk.seq(), c);
        for (int i = 0; i < pk.tokens(); i++) {
            for (int j = 0; j < c; j++) {
                v.data[pk.pos()[i] * c + j] = l.data[i * c + j];
            }
        }
        return v;
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
