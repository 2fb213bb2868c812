package dev.xlmr.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The reference XLM-RoBERTa forward pass in plain fp32 Java, for every head of transformers'
 * modeling_xlm_roberta and modeling_xlm_roberta_xl, giving the same outputs (to ~1e-6).
 *
 * <pre>{@code
 * try (XlmRobertaModel model = XlmRobertaModel.load(Path.of("xlmr-seqcls"))) {
 *     ModelOutput out = model.forward(new int[][] {{0, 581, 2}}, new int[][] {{1, 1, 1}}, null);
 *     float[] logits = out.get("logits").data(); // [batch][num_labels]
 * }
 * }</pre>
 *
 * Weight names are looked up with and without the {@code roberta.} prefix, so a base model loads
 * from a task checkpoint (ignoring the head, as transformers does) and from sentence-transformers
 * folders; a task model whose head is missing is an error naming the missing tensors.
 */
public final class XlmRobertaModel implements Encoder {
    private static final String PREFIX = "roberta.";

    /** The tensors of one encoder layer. ln1/ln2 follow attention/FFN (post-LN) or precede them (XL). */
    private record Layer(Tensor qW, Tensor qB, Tensor kW, Tensor kB, Tensor vW, Tensor vB,
                         Tensor attnOutW, Tensor attnOutB, Tensor ln1W, Tensor ln1B,
                         Tensor interW, Tensor interB, Tensor outW, Tensor outB, Tensor ln2W, Tensor ln2B) {}

    /** Head tensors: dense → (norm) → out, whichever the head has. */
    private record HeadWeights(Tensor denseW, Tensor denseB, Tensor normW, Tensor normB, Tensor outW, Tensor outB) {}

    private final ModelConfig config;
    private final Weights weights;
    private final Tensor wordEmb;
    private final Tensor posEmb;
    private final Tensor typeEmb;
    private final Tensor embLnW;
    private final Tensor embLnB;
    private final Layer[] layers;
    private final Tensor finalLnW;
    private final Tensor finalLnB;
    private final Tensor poolerW;
    private final Tensor poolerB;
    private final HeadWeights head;
    private final Map<String, Tensor> tensors;

    /**
     * Loads a model folder: config.json and its weights (see {@link Weights#open}). A
     * sentence-transformers folder whose Transformer module sits in a subfolder works too.
     *
     * @throws CheckpointException when the folder does not hold a usable XLM-R checkpoint
     */
    public static XlmRobertaModel load(Path dir) {
        Path modelDir = transformerDir(dir);
        ModelConfig config = ModelConfig.load(modelDir.resolve("config.json"));
        return new XlmRobertaModel(config, Weights.open(modelDir));
    }

    /** sentence-transformers keeps the model in the path of its Transformer module (often the root). */
    private static Path transformerDir(Path dir) {
        Path modules = dir.resolve("modules.json");
        if (Files.isRegularFile(dir.resolve("config.json")) || !Files.isRegularFile(modules)) {
            return dir;
        }
        for (JsonNode m : JsonTree.readFile(modules)) {
            if (m.path("type").asText().endsWith("models.Transformer")) {
                Path p = dir.resolve(m.path("path").asText("")).normalize();
                if (p.startsWith(dir.normalize())) {
                    return p;
                }
            }
        }
        return dir;
    }

    /**
     * A model over already opened weights; it owns them and closes them in {@link #close()}.
     *
     * @throws CheckpointException when tensors are missing or have the wrong shape
     */
    public XlmRobertaModel(ModelConfig config, Weights weights) {
        this.config = config;
        this.weights = weights;
        try {
            Loader ld = new Loader(weights, config);
            int h = config.hiddenSize();
            int inter = config.intermediateSize();
            String e = "embeddings.";
            wordEmb = ld.enc(e + "word_embeddings.weight", config.vocabSize(), h);
            posEmb = ld.enc(e + "position_embeddings.weight", config.maxPositionEmbeddings(), h);
            typeEmb = ld.enc(e + "token_type_embeddings.weight", config.typeVocabSize(), h);
            boolean xl = config.preLayerNorm();
            embLnW = xl ? null : ld.enc(e + "LayerNorm.weight", h);
            embLnB = xl ? null : ld.enc(e + "LayerNorm.bias", h);
            // checked before anything is sized by it: a config's 10^7 layers must not become 10^7 lookups
            int stored = ld.storedLayers();
            if (config.numHiddenLayers() > stored) {
                throw new CheckpointException("config.json: num_hidden_layers is " + config.numHiddenLayers() + " but "
                        + weights.source().getFileName() + " holds " + stored + " encoder layers");
            }
            layers = new Layer[config.numHiddenLayers()];
            for (int i = 0; i < layers.length; i++) {
                String p = "encoder.layer." + i + ".";
                String ln1 = xl ? p + "attention.self_attn_layer_norm." : p + "attention.output.LayerNorm.";
                String ln2 = xl ? p + "LayerNorm." : p + "output.LayerNorm.";
                layers[i] = new Layer(
                        ld.enc(p + "attention.self.query.weight", h, h), ld.enc(p + "attention.self.query.bias", h),
                        ld.enc(p + "attention.self.key.weight", h, h), ld.enc(p + "attention.self.key.bias", h),
                        ld.enc(p + "attention.self.value.weight", h, h), ld.enc(p + "attention.self.value.bias", h),
                        ld.enc(p + "attention.output.dense.weight", h, h), ld.enc(p + "attention.output.dense.bias", h),
                        ld.enc(ln1 + "weight", h), ld.enc(ln1 + "bias", h),
                        ld.enc(p + "intermediate.dense.weight", inter, h), ld.enc(p + "intermediate.dense.bias", inter),
                        ld.enc(p + "output.dense.weight", h, inter), ld.enc(p + "output.dense.bias", h),
                        ld.enc(ln2 + "weight", h), ld.enc(ln2 + "bias", h));
            }
            finalLnW = xl ? ld.enc("encoder.LayerNorm.weight", h) : null;
            finalLnB = xl ? ld.enc("encoder.LayerNorm.bias", h) : null;
            Head kind = config.head();
            if (kind == Head.BASE) {
                // transformers would initialise a missing pooler randomly; we give no pooler_output instead.
                poolerW = ld.optionalEnc("pooler.dense.weight", h, h);
                poolerB = poolerW == null ? null : ld.enc("pooler.dense.bias", h);
                if (poolerW == null) {
                    System.err.println("xlmr: " + weights.source().getFileName() + " has no pooler; pooler_output is left out");
                }
            } else if (kind == Head.MULTIPLE_CHOICE) {
                poolerW = ld.enc("pooler.dense.weight", h, h);
                poolerB = ld.enc("pooler.dense.bias", h);
            } else {
                poolerW = null;
                poolerB = null;
            }
            head = loadHead(ld, kind);
            ld.finish();
            if (head != null && head.normW() != null) {
                ld.resolved.put("lm_head.decoder.weight", head.outW()); // tied or not, under its own name
                ld.resolved.put("lm_head.bias", head.outB());
                ld.resolved.remove("lm_head.decoder.bias");
            }
            tensors = Collections.unmodifiableMap(ld.resolved);
        } catch (RuntimeException ex) {
            weights.close();
            throw ex;
        }
    }

    private HeadWeights loadHead(Loader ld, Head kind) {
        int h = config.hiddenSize();
        int labels = config.numLabels();
        return switch (kind) {
            case BASE -> null;
            case MASKED_LM, CAUSAL_LM -> {
                int v = config.vocabSize();
                // The decoder is tied to the word embeddings, and usually absent from the file.
                Tensor decoder = ld.optional("lm_head.decoder.weight", v, h);
                Tensor bias = ld.optional("lm_head.bias", v);
                Tensor decoderBias = ld.optional("lm_head.decoder.bias", v);
                if (bias == null) {
                    bias = decoderBias != null ? decoderBias : ld.head("lm_head.bias", v);
                }
                if (decoder == null && !config.tieWordEmbeddings()) {
                    ld.head("lm_head.decoder.weight", v, h); // untied: the file must have it
                }
                yield new HeadWeights(ld.head("lm_head.dense.weight", h, h), ld.head("lm_head.dense.bias", h),
                        ld.head("lm_head.layer_norm.weight", h), ld.head("lm_head.layer_norm.bias", h),
                        decoder != null ? decoder : wordEmb, bias);
            }
            case SEQUENCE_CLASSIFICATION -> new HeadWeights(
                    ld.head("classifier.dense.weight", h, h), ld.head("classifier.dense.bias", h), null, null,
                    ld.head("classifier.out_proj.weight", labels, h), ld.head("classifier.out_proj.bias", labels));
            case TOKEN_CLASSIFICATION -> new HeadWeights(null, null, null, null,
                    ld.head("classifier.weight", labels, h), ld.head("classifier.bias", labels));
            case QUESTION_ANSWERING -> new HeadWeights(null, null, null, null,
                    ld.head("qa_outputs.weight", 2, h), ld.head("qa_outputs.bias", 2));
            case MULTIPLE_CHOICE -> new HeadWeights(null, null, null, null,
                    ld.head("classifier.weight", 1, h), ld.head("classifier.bias", 1));
        };
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    /**
     * The tensors this model runs, by their transformers names without the "roberta." prefix
     * ("embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight",
     * "classifier.out_proj.bias", "lm_head.decoder.weight" even when tied), already checked
     * against the config: what a faster engine needs to run the same model.
     */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** Runs a plain batch {@code [batch][seq]}; {@code attentionMask} and {@code tokenTypeIds} may be null. */
    public ModelOutput forward(int[][] inputIds, int[][] attentionMask, int[][] tokenTypeIds) {
        return forward(Batch.of(inputIds, attentionMask, tokenTypeIds));
    }

    /** Runs a multiple-choice batch {@code [batch][choices][seq]}. */
    public ModelOutput forward(int[][][] inputIds, int[][][] attentionMask, int[][][] tokenTypeIds) {
        return forward(Batch.ofChoices(inputIds, attentionMask, tokenTypeIds));
    }

    @Override
    public ModelOutput forward(Batch batch) {
        return forward(batch, false, false);
    }

    /**
     * Runs the batch and adds, on request, transformers' {@code output_hidden_states} and
     * {@code output_attentions}: {@code hidden_states} of shape {@code [layers + 1][rows][seq][hidden]}
     * (the embeddings' output, then each layer's; for the pre-LayerNorm XL models the last one is after
     * the final LayerNorm, as transformers gives it) and {@code attentions} of shape
     * {@code [layers][rows][heads][seq][seq]} (the softmax probabilities; padding keys get 0). Rows are
     * flattened for multiple choice ({@code batch * choices}), as transformers runs them.
     *
     * <pre>{@code
     * ModelOutput out = model.forward(Batch.of(ids, null, null), true, true);
     * NdArray layer3 = out.get("hidden_states"); // [layers + 1][rows][seq][hidden]
     * }</pre>
     */
    public ModelOutput forward(Batch batch, boolean outputHiddenStates, boolean outputAttentions) {
        try {
            return run(batch, outputHiddenStates, outputAttentions);
        } catch (NonFiniteOutputException e) {
            String bad = nonFiniteTensor();
            throw bad == null ? e : new NonFiniteOutputException(e.getMessage() + "; tensor '" + bad + "' of "
                    + weights.source().getFileName() + " holds NaN or infinite values");
        }
    }

    /** The first weight with a NaN or infinite value, or null: the search runs only once an output was bad. */
    private String nonFiniteTensor() {
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            java.lang.foreign.MemorySegment m = e.getValue().segment();
            for (long i = 0, n = m.byteSize() / 4; i < n; i++) {
                if (!Float.isFinite(m.getAtIndex(Tensor.F32_LE, i))) {
                    return e.getKey();
                }
            }
        }
        return null;
    }

    private ModelOutput run(Batch batch, boolean outputHiddenStates, boolean outputAttentions) {
        batch.checkFor(config);
        int rows = batch.rows();
        int seq = batch.sequenceLength();
        int h = config.hiddenSize();
        int layerCount = layers.length;
        int heads = config.numAttentionHeads();
        long stateValues = (long) (layerCount + 1) * rows * seq * h;
        long attentionValues = (long) layerCount * rows * heads * seq * seq;
        if (outputHiddenStates && stateValues > Integer.MAX_VALUE - 8
                || outputAttentions && attentionValues > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("the hidden states or attentions of " + rows + " x " + seq
                    + " tokens do not fit in one array; split the batch");
        }
        float[] states = outputHiddenStates ? new float[(int) stateValues] : null;
        float[] probs = outputAttentions ? new float[(int) attentionValues] : null;
        float[][] hidden = new float[rows][];
        for (int r = 0; r < rows; r++) {
            int[] types = batch.tokenTypeIds() == null ? new int[seq] : batch.tokenTypeIds()[r];
            Trace trace = states == null && probs == null ? null : new Trace(states, probs, r, rows, seq, h, heads);
            hidden[r] = encode(batch.inputIds()[r], batch.attentionMask()[r], types, trace);
        }
        Map<String, NdArray> out = new LinkedHashMap<>();
        int choices = batch.choices();
        int[] lead = choices > 0 ? new int[] {rows / choices, choices} : new int[] {rows};
        out.put("last_hidden_state", new NdArray(shape(lead, seq, h), concat(hidden)));
        Head kind = config.head();
        if (poolerW != null) {
            float[][] pooled = new float[rows][];
            for (int r = 0; r < rows; r++) {
                pooled[r] = pool(hidden[r]);
            }
            out.put("pooler_output", new NdArray(shape(lead, h), concat(pooled)));
            if (kind == Head.MULTIPLE_CHOICE) {
                float[] scores = Ops.linear(concat(pooled), rows, head.outW(), head.outB());
                out.put("logits", new NdArray(lead, scores));
            }
        }
        switch (kind) {
            case MASKED_LM, CAUSAL_LM -> {
                int v = config.vocabSize();
                float[][] logits = new float[rows][];
                for (int r = 0; r < rows; r++) {
                    float[] x = Ops.linear(hidden[r], seq, head.denseW(), head.denseB());
                    Ops.activate(x, Activation.GELU); // the LM head always uses exact GELU
                    x = Ops.layerNorm(x, seq, head.normW(), head.normB(), config.layerNormEps());
                    logits[r] = Ops.linear(x, seq, head.outW(), head.outB());
                }
                out.put("logits", new NdArray(shape(lead, seq, v), concat(logits)));
            }
            case SEQUENCE_CLASSIFICATION -> {
                float[] first = firstTokens(hidden);
                float[] x = Ops.linear(first, rows, head.denseW(), head.denseB());
                Ops.tanh(x);
                out.put("logits", new NdArray(new int[] {rows, config.numLabels()},
                        Ops.linear(x, rows, head.outW(), head.outB())));
            }
            case TOKEN_CLASSIFICATION -> {
                float[][] logits = new float[rows][];
                for (int r = 0; r < rows; r++) {
                    logits[r] = Ops.linear(hidden[r], seq, head.outW(), head.outB());
                }
                out.put("logits", new NdArray(new int[] {rows, seq, config.numLabels()}, concat(logits)));
            }
            case QUESTION_ANSWERING -> {
                float[] start = new float[rows * seq];
                float[] end = new float[rows * seq];
                for (int r = 0; r < rows; r++) {
                    float[] se = Ops.linear(hidden[r], seq, head.outW(), head.outB());
                    for (int t = 0; t < seq; t++) {
                        start[r * seq + t] = se[2 * t];
                        end[r * seq + t] = se[2 * t + 1];
                    }
                }
                out.put("start_logits", new NdArray(new int[] {rows, seq}, start));
                out.put("end_logits", new NdArray(new int[] {rows, seq}, end));
            }
            case BASE, MULTIPLE_CHOICE -> { }
        }
        if (states != null) {
            out.put("hidden_states", new NdArray(new int[] {layerCount + 1, rows, seq, h}, states));
        }
        if (probs != null) {
            out.put("attentions", new NdArray(new int[] {layerCount, rows, heads, seq, seq}, probs));
        }
        return new ModelOutput(out);
    }

    /**
     * Where one row's hidden states ({@code [layers + 1][rows][seq][hidden]}) and attention probabilities
     * ({@code [layers][rows][heads][seq][seq]}) go; either array may be null.
     */
    private record Trace(float[] states, float[] probs, int row, int rows, int seq, int hidden, int heads) {
        void state(int index, float[] x) {
            if (states != null) {
                System.arraycopy(x, 0, states, (index * rows + row) * seq * hidden, seq * hidden);
            }
        }

        /** The offset of (layer, head, query i) in {@code probs}, or -1 when attentions are not asked for. */
        int probsAt(int layer, int head, int i) {
            return probs == null ? -1 : (((layer * rows + row) * heads + head) * seq + i) * seq;
        }
    }

    /** One sequence through embeddings and encoder: [seq][hidden]; the trace (or null) records each layer. */
    private float[] encode(int[] ids, int[] mask, int[] types, Trace trace) {
        int seq = ids.length;
        int h = config.hiddenSize();
        float[] x = embed(ids, types);
        if (!config.preLayerNorm()) {
            x = Ops.layerNorm(x, seq, embLnW, embLnB, config.layerNormEps());
        }
        for (int i = 0; i < layers.length; i++) {
            if (trace != null) {
                trace.state(i, x);
            }
            Layer layer = layers[i];
            x = config.preLayerNorm() ? preNormLayer(layer, x, mask, trace, i) : postNormLayer(layer, x, mask, trace, i);
        }
        if (config.preLayerNorm()) {
            x = Ops.layerNorm(x, seq, finalLnW, finalLnB, config.layerNormEps());
        }
        if (trace != null) {
            trace.state(layers.length, x);
        }
        assert x.length == seq * h;
        return x;
    }

    /**
     * Word + token type + position embeddings. Positions count only non-pad tokens, starting at
     * pad_token_id + 1; pad tokens get pad_token_id (transformers' create_position_ids_from_input_ids).
     */
    private float[] embed(int[] ids, int[] types) {
        int seq = ids.length;
        int h = config.hiddenSize();
        int pad = config.padTokenId();
        float[] x = new float[seq * h];
        int count = 0;
        for (int t = 0; t < seq; t++) {
            int position = pad;
            if (ids[t] != pad) {
                count++;
                position = pad + count;
            }
            for (int i = 0; i < h; i++) {
                float v = wordEmb.get(ids[t], i) + typeEmb.get(types[t], i);
                x[t * h + i] = v + posEmb.get(position, i);
            }
        }
        return x;
    }

    /** XLM-R: attention, add, LayerNorm; feed-forward, add, LayerNorm. */
    private float[] postNormLayer(Layer l, float[] x, int[] mask, Trace trace, int index) {
        int seq = mask.length;
        float[] attn = Ops.linear(selfAttention(l, x, mask, trace, index), seq, l.attnOutW(), l.attnOutB());
        float[] a = Ops.layerNorm(Ops.add(attn, x), seq, l.ln1W(), l.ln1B(), config.layerNormEps());
        float[] ff = feedForward(l, a, seq);
        return Ops.layerNorm(Ops.add(ff, a), seq, l.ln2W(), l.ln2B(), config.layerNormEps());
    }

    /** XLM-R XL: LayerNorm, attention, add; LayerNorm, feed-forward, add. */
    private float[] preNormLayer(Layer l, float[] x, int[] mask, Trace trace, int index) {
        int seq = mask.length;
        float[] n1 = Ops.layerNorm(x, seq, l.ln1W(), l.ln1B(), config.layerNormEps());
        float[] a = Ops.add(Ops.linear(selfAttention(l, n1, mask, trace, index), seq, l.attnOutW(), l.attnOutB()), x);
        float[] n2 = Ops.layerNorm(a, seq, l.ln2W(), l.ln2B(), config.layerNormEps());
        return Ops.add(feedForward(l, n2, seq), a);
    }

    private float[] feedForward(Layer l, float[] x, int seq) {
        float[] inter = Ops.linear(x, seq, l.interW(), l.interB());
        Ops.activate(inter, config.hiddenAct());
        return Ops.linear(inter, seq, l.outW(), l.outB());
    }

    /**
     * Multi-head scaled dot-product attention over one sequence. Masked keys (padding, and later
     * positions for a decoder) get the most negative float added to their score, as transformers
     * does, so they get zero weight. The trace (or null) keeps the probabilities of layer {@code index}.
     */
    private float[] selfAttention(Layer l, float[] x, int[] mask, Trace trace, int index) {
        int seq = mask.length;
        int h = config.hiddenSize();
        int d = config.headSize();
        float[] q = Ops.linear(x, seq, l.qW(), l.qB());
        float[] k = Ops.linear(x, seq, l.kW(), l.kB());
        float[] v = Ops.linear(x, seq, l.vW(), l.vB());
        double scale = Math.sqrt(d);
        float[] ctx = new float[seq * h];
        double[] p = new double[seq];
        for (int head = 0; head < config.numAttentionHeads(); head++) {
            int off = head * d;
            for (int i = 0; i < seq; i++) {
                for (int j = 0; j < seq; j++) {
                    double dot = 0;
                    for (int c = 0; c < d; c++) {
                        dot += (double) q[i * h + off + c] * k[j * h + off + c];
                    }
                    float score = (float) (dot / scale);
                    boolean masked = mask[j] == 0 || config.isDecoder() && j > i;
                    p[j] = masked ? score + -Float.MAX_VALUE : score;
                }
                Ops.softmax(p, 0, seq);
                int at = trace == null ? -1 : trace.probsAt(index, head, i);
                if (at >= 0) {
                    for (int j = 0; j < seq; j++) {
                        trace.probs()[at + j] = (float) p[j];
                    }
                }
                for (int c = 0; c < d; c++) {
                    double acc = 0;
                    for (int j = 0; j < seq; j++) {
                        acc += p[j] * v[j * h + off + c];
                    }
                    ctx[i * h + off + c] = (float) acc;
                }
            }
        }
        return ctx;
    }

    /** tanh(dense(hidden of the first token)). */
    private float[] pool(float[] hidden) {
        float[] first = Arrays.copyOf(hidden, config.hiddenSize());
        float[] y = Ops.linear(first, 1, poolerW, poolerB);
        Ops.tanh(y);
        return y;
    }

    private float[] firstTokens(float[][] hidden) {
        int h = config.hiddenSize();
        float[] out = new float[hidden.length * h];
        for (int r = 0; r < hidden.length; r++) {
            System.arraycopy(hidden[r], 0, out, r * h, h);
        }
        return out;
    }

    private static float[] concat(float[][] rows) {
        int n = 0;
        for (float[] r : rows) {
            n = Math.addExact(n, r.length);
        }
        float[] out = new float[n];
        int at = 0;
        for (float[] r : rows) {
            System.arraycopy(r, 0, out, at, r.length);
            at += r.length;
        }
        return out;
    }

    private static int[] shape(int[] lead, int... rest) {
        int[] s = Arrays.copyOf(lead, lead.length + rest.length);
        System.arraycopy(rest, 0, s, lead.length, rest.length);
        return s;
    }

    /** Unmaps the weights; the model cannot be used afterwards. */
    @Override
    public void close() {
        weights.close();
    }

    /**
     * Finds tensors by their transformers names: encoder tensors with or without "roberta.",
     * "LayerNorm.gamma/beta" for "weight/bias" in old files. Collects every missing or misshapen
     * tensor so that one error names them all, and reports stored tensors nobody used.
     */
    private static final class Loader {
        private final Weights weights;
        private final ModelConfig config;
        private final Map<String, String> byCanonical = new LinkedHashMap<>();
        private final String prefix;
        private final Set<String> used = new HashSet<>();
        private final List<String> missingEncoder = new ArrayList<>();
        private final List<String> missingHead = new ArrayList<>();
        private final List<String> badShapes = new ArrayList<>();
        final Map<String, Tensor> resolved = new LinkedHashMap<>();

        Loader(Weights weights, ModelConfig config) {
            this.weights = weights;
            this.config = config;
            boolean prefixed = false;
            for (String stored : weights.names()) {
                String canonical = stored;
                if (canonical.endsWith(".gamma")) {
                    canonical = canonical.substring(0, canonical.length() - 6) + ".weight";
                } else if (canonical.endsWith(".beta")) {
                    canonical = canonical.substring(0, canonical.length() - 5) + ".bias";
                }
                byCanonical.putIfAbsent(canonical, stored);
                prefixed |= stored.startsWith(PREFIX);
            }
            prefix = prefixed ? PREFIX : "";
        }

        /** 1 + the highest n of the stored "encoder.layer.n." tensors, 0 for none. */
        int storedLayers() {
            String p = prefix + "encoder.layer.";
            int layers = 0;
            for (String name : byCanonical.keySet()) {
                if (!name.startsWith(p)) {
                    continue;
                }
                int end = name.indexOf('.', p.length());
                String n = end < 0 ? "" : name.substring(p.length(), end);
                if (!n.isEmpty() && n.length() <= 9 && n.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
                    layers = Math.max(layers, Integer.parseInt(n) + 1);
                }
            }
            return layers;
        }

        /** A required encoder tensor. */
        Tensor enc(String name, int... shape) {
            Tensor t = optionalEnc(name, shape);
            if (t == null && !byCanonical.containsKey(prefix + name)) {
                missingEncoder.add(prefix + name);
            }
            return t;
        }

        Tensor optionalEnc(String name, int... shape) {
            return optional(prefix + name, shape);
        }

        /** A required head tensor. */
        Tensor head(String name, int... shape) {
            Tensor t = optional(name, shape);
            if (t == null && !byCanonical.containsKey(name)) {
                missingHead.add(name);
            }
            return t;
        }

        Tensor optional(String name, int... shape) {
            String stored = byCanonical.get(name);
            if (stored == null) {
                return null;
            }
            used.add(stored);
            int[] actual = weights.shape(stored);
            if (!Arrays.equals(actual, shape)) {
                badShapes.add(stored + " is " + Arrays.toString(actual) + ", expected " + Arrays.toString(shape));
                return null;
            }
            Tensor t = weights.get(stored);
            resolved.put(name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : name, t);
            return t;
        }

        void finish() {
            String file = weights.source().getFileName().toString();
            if (!badShapes.isEmpty()) {
                throw new CheckpointException(file + ": tensors do not fit " + config.architecture() + ": "
                        + String.join("; ", badShapes));
            }
            if (!missingHead.isEmpty() && missingEncoder.isEmpty()) {
                throw new CheckpointException(file + " has no " + config.architecture() + " head: missing "
                        + String.join(", ", missingHead) + " (is it a base model checkpoint?)");
            }
            if (!missingEncoder.isEmpty() || !missingHead.isEmpty()) {
                List<String> all = new ArrayList<>(missingEncoder);
                all.addAll(missingHead);
                throw new CheckpointException(file + ": missing tensors for " + config.architecture() + ": "
                        + abbreviate(all));
            }
            List<String> unused = new ArrayList<>();
            for (String stored : weights.names()) {
                // position_ids/token_type_ids are buffers that older transformers saved
                if (!used.contains(stored) && !stored.endsWith("position_ids") && !stored.endsWith("token_type_ids")) {
                    unused.add(stored);
                }
            }
            if (!unused.isEmpty()) {
                System.err.println("xlmr: some weights of " + file + " were not used by " + config.architecture()
                        + ": " + abbreviate(unused));
            }
        }

        private static String abbreviate(List<String> names) {
            return names.size() <= 8 ? String.join(", ", names)
                    : String.join(", ", names.subList(0, 8)) + " and " + (names.size() - 8) + " more";
        }
    }
}
