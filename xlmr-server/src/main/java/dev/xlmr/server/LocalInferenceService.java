package dev.xlmr.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xlmr.engine.Encoders;
import dev.xlmr.model.Batch;
import dev.xlmr.model.Encoder;
import dev.xlmr.model.Head;
import dev.xlmr.model.ModelConfig;
import dev.xlmr.model.ModelOutput;
import dev.xlmr.model.Weights;
import dev.xlmr.model.XlmRobertaModel;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * {@link InferenceService} over {@link XlmRobertaTokenizer} and {@link XlmRobertaModel}, with
 * sentence-transformers' pooling: {@code modules.json} names a Pooling module (its {@code config.json}
 * picks cls, mean, max or mean_sqrt_len) and maybe a Normalize module; without one the pooler output is
 * used when the checkpoint has a pooler, else the mean. A sequence-classification checkpoint is served as
 * a classifier (a reranker when it has one label); any other head is served as an embedding model through
 * its encoder.
 *
 * <p>Texts of equal token length run together without padding, so a text's result does not depend on
 * the texts it is batched with (except for {@link Pooling#PADDED_BATCH_MEAN}, which pads on purpose).
 *
 * <pre>{@code
 * try (LocalInferenceService s = LocalInferenceService.load(Path.of("testdata/xlmr-base"), "xlmr-base", 0)) {
 *     float[][] v = s.embed(List.of("Hello", "Bonjour"), Pooling.DEFAULT, true, false);
 * }
 * }</pre>
 */
public final class LocalInferenceService implements InferenceService {
    /** Tokens per forward call: bounds the memory of one call, whatever the batch. */
    private static final int MAX_FORWARD_TOKENS = 16_384;

    private final XlmRobertaTokenizer tokenizer;
    private final Encoder model;
    /** The plain reference, for the one path that needs hidden states at padded positions (NOVA compat). */
    private final XlmRobertaModel reference;
    private final ModelInfo info;
    private final Pooling defaultPooling;
    private final boolean hasPooler;
    private final EncodeOptions truncating;

    private LocalInferenceService(XlmRobertaTokenizer tokenizer, Encoder model, XlmRobertaModel reference,
                                  ModelInfo info, Pooling defaultPooling, boolean hasPooler) {
        this.tokenizer = tokenizer;
        this.model = model;
        this.reference = reference;
        this.info = info;
        this.defaultPooling = defaultPooling;
        this.hasPooler = hasPooler;
        this.truncating = EncodeOptions.defaults().maxLength(info.maxInputLength())
                .truncation(EncodeOptions.Truncation.LONGEST_FIRST);
    }

    /**
     * Loads a model folder (a Hugging Face or sentence-transformers folder).
     *
     * @param modelId        the name reported in {@code /info}
     * @param maxInputLength longest input in tokens; 0 for the model's limit (and sentence-transformers'
     *                       {@code max_seq_length} when smaller)
     * @throws IllegalArgumentException when the folder is unusable or maxInputLength exceeds the model's limit
     */
    public static LocalInferenceService load(Path dir, String modelId, int maxInputLength) {
        SentenceTransformers st = SentenceTransformers.read(dir);
        ModelConfig config = ModelConfig.load(st.transformerDir.resolve("config.json"));
        XlmRobertaModel model;
        if (config.head() == Head.SEQUENCE_CLASSIFICATION || config.head() == Head.BASE) {
            model = XlmRobertaModel.load(st.transformerDir);
        } else {
            // Served for embeddings: run only the encoder, not an LM head over the whole vocabulary.
            ModelConfig base = new ModelConfig(config.modelType(), "XLMRobertaModel", Head.BASE, config.vocabSize(),
                    config.hiddenSize(), config.numHiddenLayers(), config.numAttentionHeads(),
                    config.intermediateSize(), config.hiddenAct(), config.layerNormEps(), config.padTokenId(),
                    config.maxPositionEmbeddings(), config.typeVocabSize(), config.isDecoder(), config.numLabels(),
                    config.id2label(), config.label2id(), config.problemType(), config.tieWordEmbeddings());
            model = new XlmRobertaModel(base, Weights.open(st.transformerDir));
        }
        try {
            Path tokDir = Files.exists(dir.resolve("tokenizer.json")) || Files.exists(dir.resolve("sentencepiece.bpe.model"))
                    ? dir : st.transformerDir;
            XlmRobertaTokenizer tokenizer = XlmRobertaTokenizer.load(tokDir);
            int limit = config.maxSequenceLength();
            if (maxInputLength > limit) {
                throw new IllegalArgumentException("max input length " + maxInputLength + " exceeds the model's limit of "
                        + limit + " tokens");
            }
            if (maxInputLength <= 0) {
                maxInputLength = st.maxSeqLength > 0 ? Math.min(st.maxSeqLength, limit) : limit;
            }
            boolean pooler = model.tensors().containsKey("pooler.dense.weight");
            ModelKind kind = config.head() != Head.SEQUENCE_CLASSIFICATION ? ModelKind.EMBEDDING
                    : config.numLabels() == 1 ? ModelKind.RERANKER : ModelKind.CLASSIFIER;
            Pooling pooling = st.pooling != null ? st.pooling : pooler ? Pooling.POOLER : Pooling.MEAN;
            ModelInfo info = new ModelInfo(modelId, kind, pooling.name().toLowerCase(Locale.ROOT), config.hiddenSize(),
                    maxInputLength, config.id2label());
            // The fast engine runs it (Encoders: -Dxlmr.encoder=reference for the plain reference).
            // The fast engine runs it (Encoders: -Dxlmr.encoder=reference for the plain reference); it owns
            // the reference model, which stays open as long as the engine does.
            return new LocalInferenceService(tokenizer, Encoders.wrap(model), model, info, pooling, pooler);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** What a sentence-transformers folder adds: where the transformer is, its pooling, its length limit. */
    private record SentenceTransformers(Path transformerDir, Pooling pooling, int maxSeqLength) {
        static SentenceTransformers read(Path dir) {
            Path modulesFile = dir.resolve("modules.json");
            if (!Files.isRegularFile(modulesFile)) {
                return new SentenceTransformers(dir, null, 0);
            }
            ObjectMapper json = new ObjectMapper();
            try {
                Path transformer = dir;
                Pooling pooling = null;
                for (JsonNode m : json.readTree(modulesFile.toFile())) {
                    String type = m.path("type").asText();
                    Path path = dir.resolve(m.path("path").asText("")).normalize();
                    if (!path.startsWith(dir.normalize())) {
                        throw new IllegalArgumentException(modulesFile + ": module path leaves the folder: " + path);
                    }
                    if (type.endsWith("models.Transformer")) {
                        transformer = path;
                    } else if (type.endsWith("models.Pooling")) {
                        pooling = poolingOf(json.readTree(path.resolve("config.json").toFile()), path);
                    } else if (!type.endsWith("models.Normalize")) {
                        throw new IllegalArgumentException(modulesFile + ": sentence-transformers module " + type
                                + " is not supported (Transformer, Pooling and Normalize are)");
                    }
                }
                int maxSeq = 0;
                Path stConfig = transformer.resolve("sentence_bert_config.json");
                if (Files.isRegularFile(stConfig)) {
                    maxSeq = json.readTree(stConfig.toFile()).path("max_seq_length").asInt(0);
                }
                return new SentenceTransformers(transformer, pooling, maxSeq);
            } catch (IOException e) {
                throw new UncheckedIOException(dir + ": cannot read the sentence-transformers configuration: "
                        + e.getMessage(), e);
            }
        }

        private static Pooling poolingOf(JsonNode c, Path where) {
            List<Pooling> modes = new ArrayList<>();
            if (c.path("pooling_mode_cls_token").asBoolean(false)) modes.add(Pooling.CLS);
            if (c.path("pooling_mode_mean_tokens").asBoolean(false)) modes.add(Pooling.MEAN);
            if (c.path("pooling_mode_max_tokens").asBoolean(false)) modes.add(Pooling.MAX);
            if (c.path("pooling_mode_mean_sqrt_len_tokens").asBoolean(false)) modes.add(Pooling.MEAN_SQRT_LEN);
            for (String other : List.of("pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")) {
                if (c.path(other).asBoolean(false)) {
                    throw new IllegalArgumentException(where + ": " + other + " is not supported");
                }
            }
            if (modes.size() != 1) {
                throw new IllegalArgumentException(where + ": expected exactly one pooling mode, found " + modes);
            }
            return modes.getFirst();
        }
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public int countTokens(String text, String pair) {
        return tokenizer.encode(text, pair, EncodeOptions.defaults()).length();
    }

    @Override
    public float[][] embed(List<String> texts, Pooling pooling, boolean normalize, boolean truncate) {
        requireKind(ModelKind.EMBEDDING, "embeddings");
        Pooling p = pooling == Pooling.DEFAULT ? defaultPooling : pooling;
        if (p == Pooling.POOLER && !hasPooler) {
            throw new IllegalArgumentException("this model has no pooler; use mean (or another) pooling");
        }
        int h = info.hiddenSize();
        float[][] out = new float[texts.size()][];
        List<Encoding> encodings = encode(texts, null, truncate);
        if (p == Pooling.PADDED_BATCH_MEAN) {
            paddedBatchMean(encodings, out);
        } else {
            forwardByLength(encodings, (i, result, row, len) -> {
                if (p == Pooling.POOLER) {
                    out[i] = Arrays.copyOfRange(result.get("pooler_output").data(), row * h, row * h + h);
                } else {
                    out[i] = pool(p, result.get("last_hidden_state").data(), row * len * h, len, h);
                }
            });
        }
        if (normalize) {
            for (float[] v : out) normalize(v);
        }
        return out;
    }

    /** The hidden states of a padded batch averaged over all positions, padding included. */
    private void paddedBatchMean(List<Encoding> encodings, float[][] out) {
        if (encodings.isEmpty()) return;
        int longest = encodings.stream().mapToInt(Encoding::length).max().orElse(0);
        int n = encodings.size(), h = info.hiddenSize();
        int[][] ids = new int[n][longest], mask = new int[n][longest];
        for (int i = 0; i < n; i++) {
            int[] e = encodings.get(i).ids();
            Arrays.fill(ids[i], tokenizer.padId());
            System.arraycopy(e, 0, ids[i], 0, e.length);
            Arrays.fill(mask[i], 0, e.length, 1);
        }
        // The fast engine leaves padded positions at zero; the quirk averages what transformers computes there.
        float[] hidden = reference.forward(Batch.of(ids, mask, null)).get("last_hidden_state").data();
        for (int i = 0; i < n; i++) {
            float[] v = new float[h];
            for (int t = 0; t < longest; t++) {
                for (int d = 0; d < h; d++) v[d] += hidden[(i * longest + t) * h + d];
            }
            for (int d = 0; d < h; d++) v[d] /= longest;
            out[i] = v;
        }
    }

    private static float[] pool(Pooling p, float[] hidden, int offset, int len, int h) {
        float[] v = new float[h];
        switch (p) {
            case CLS -> System.arraycopy(hidden, offset, v, 0, h);
            case MAX -> {
                Arrays.fill(v, Float.NEGATIVE_INFINITY);
                for (int t = 0; t < len; t++) {
                    for (int d = 0; d < h; d++) v[d] = Math.max(v[d], hidden[offset + t * h + d]);
                }
            }
            case MEAN, MEAN_SQRT_LEN -> {
                double[] sum = new double[h];
                for (int t = 0; t < len; t++) {
                    for (int d = 0; d < h; d++) sum[d] += hidden[offset + t * h + d];
                }
                double div = p == Pooling.MEAN ? len : Math.sqrt(len);
                for (int d = 0; d < h; d++) v[d] = (float) (sum[d] / div);
            }
            default -> throw new IllegalStateException("pooling " + p);
        }
        return v;
    }

    private static void normalize(float[] v) {
        double sq = 0;
        for (float x : v) sq += (double) x * x;
        double norm = Math.max(Math.sqrt(sq), 1e-12); // as torch.nn.functional.normalize
        for (int d = 0; d < v.length; d++) v[d] = (float) (v[d] / norm);
    }

    @Override
    public float[][][] embedAll(List<String> texts, boolean truncate) {
        requireKind(ModelKind.EMBEDDING, "token embeddings");
        int h = info.hiddenSize();
        float[][][] out = new float[texts.size()][][];
        forwardByLength(encode(texts, null, truncate), (i, result, row, len) -> {
            float[] hidden = result.get("last_hidden_state").data();
            out[i] = new float[len][];
            for (int t = 0; t < len; t++) {
                int at = (row * len + t) * h;
                out[i][t] = Arrays.copyOfRange(hidden, at, at + h);
            }
        });
        return out;
    }

    @Override
    public List<List<Prediction>> classify(List<String> texts, List<String> pairs, boolean truncate, boolean rawScores) {
        if (info.kind() == ModelKind.EMBEDDING) {
            throw new UnsupportedOperationException("the model is not a sequence classifier");
        }
        float[][] logits = logits(texts, pairs, truncate);
        List<List<Prediction>> out = new ArrayList<>(logits.length);
        for (float[] l : logits) {
            float[] s = rawScores ? l : l.length == 1 ? new float[] {sigmoid(l[0])} : softmax(l);
            List<Prediction> ps = new ArrayList<>(s.length);
            for (int k = 0; k < s.length; k++) {
                ps.add(new Prediction(info.id2label().getOrDefault(k, "LABEL_" + k), s[k]));
            }
            ps.sort(Comparator.comparingDouble(Prediction::score).reversed());
            out.add(ps);
        }
        return out;
    }

    @Override
    public float[] rerank(String query, List<String> texts, boolean truncate, boolean rawScores) {
        if (info.kind() != ModelKind.RERANKER) {
            throw new UnsupportedOperationException("the model is not a re-ranker (a sequence classifier with one label)");
        }
        List<String> queries = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) queries.add(query);
        float[][] logits = logits(queries, texts, truncate);
        float[] out = new float[logits.length];
        for (int i = 0; i < out.length; i++) out[i] = rawScores ? logits[i][0] : sigmoid(logits[i][0]);
        return out;
    }

    private float[][] logits(List<String> texts, List<String> pairs, boolean truncate) {
        float[][] out = new float[texts.size()][];
        forwardByLength(encode(texts, pairs, truncate), (i, result, row, len) -> {
            int k = result.get("logits").dim(1);
            out[i] = Arrays.copyOfRange(result.get("logits").data(), row * k, row * k + k);
        });
        return out;
    }

    private static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-x)));
    }

    private static float[] softmax(float[] l) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float x : l) max = Math.max(max, x);
        double[] e = new double[l.length];
        for (int k = 0; k < l.length; k++) sum += e[k] = Math.exp(l[k] - max);
        float[] p = new float[l.length];
        for (int k = 0; k < l.length; k++) p[k] = (float) (e[k] / sum);
        return p;
    }

    @Override
    public List<List<Token>> tokenize(List<String> texts, boolean addSpecialTokens) {
        EncodeOptions opts = EncodeOptions.defaults().addSpecialTokens(addSpecialTokens);
        List<List<Token>> out = new ArrayList<>(texts.size());
        for (String text : texts) {
            Encoding e = tokenizer.encode(text, null, opts);
            int[][] cp = e.codePointOffsets(text, null);
            List<Token> tokens = new ArrayList<>(e.length());
            for (int t = 0; t < e.length(); t++) {
                boolean special = e.specialTokensMask()[t] == 1;
                tokens.add(special
                        ? new Token(e.ids()[t], e.tokens()[t], true, null, null)
                        : new Token(e.ids()[t], text.substring(e.starts()[t], e.ends()[t]), false, cp[t][0], cp[t][1]));
            }
            out.add(tokens);
        }
        return out;
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        for (int id : ids) {
            if (id < 0 || id >= tokenizer.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.."
                        + (tokenizer.vocabSize() - 1) + ")");
            }
        }
        return tokenizer.decode(ids, skipSpecialTokens);
    }

    @Override
    public void close() {
        model.close();
    }

    private void requireKind(ModelKind kind, String what) {
        if (info.kind() != kind) {
            throw new UnsupportedOperationException("the model is a " + info.kind().name().toLowerCase(Locale.ROOT)
                    + ", not an embedding model: no " + what);
        }
    }

    private List<Encoding> encode(List<String> texts, List<String> pairs, boolean truncate) {
        List<Encoding> out = tokenizer.encodeBatch(texts, pairs, truncate ? truncating : EncodeOptions.defaults());
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i).length() > info.maxInputLength()) {
                throw new IllegalArgumentException("input " + i + " has " + out.get(i).length()
                        + " tokens, more than the maximum of " + info.maxInputLength() + " (set truncate to cut it)");
            }
        }
        return out;
    }

    /** Receives the outputs of one encoded input: its index, the forward result and its row in it. */
    private interface RowSink {
        void accept(int index, ModelOutput result, int row, int length);
    }

    /** Runs inputs grouped by token length (no padding), at most {@link #MAX_FORWARD_TOKENS} per call. */
    private void forwardByLength(List<Encoding> encodings, RowSink sink) {
        Integer[] order = new Integer[encodings.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> encodings.get(i).length()));
        for (int at = 0; at < order.length; ) {
            int len = encodings.get(order[at]).length();
            int end = at;
            while (end < order.length && encodings.get(order[end]).length() == len
                    && (end - at + 1) * len <= Math.max(MAX_FORWARD_TOKENS, len)) {
                end++;
            }
            int[][] ids = new int[end - at][];
            for (int r = 0; r < ids.length; r++) ids[r] = encodings.get(order[at + r]).ids();
            ModelOutput result = model.forward(Batch.of(ids, null, null));
            for (int r = 0; r < ids.length; r++) sink.accept(order[at + r], result, r, len);
            at = end;
        }
    }
}
