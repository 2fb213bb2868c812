package dev.xlmr.server;

import dev.xlmr.model.Head;
import dev.xlmr.model.ModelConfig;
import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import dev.xlmr.pipelines.ModelSession;
import dev.xlmr.pipelines.TextClassificationPipeline;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@link InferenceService} over the pipelines' inference core: one {@link ModelSession} (the fast engine by
 * default) and the same {@link EmbeddingPipeline} and {@link TextClassificationPipeline} code as the Java API,
 * so the server's numbers are the pipelines' numbers: sentence-transformers' modules (every Pooling mode,
 * combined ones too, Normalize, prompts and the default prompt, max_seq_length, do_lower_case), mean pooling for
 * a plain folder. A sequence-classification checkpoint is served as a classifier (a reranker when it has one
 * label); any other is served as an embedding model through its encoder alone.
 *
 * <p>Each batch from the {@link DynamicBatcher} runs as one forward pass (the engine packs it: no compute on
 * padding), bounded only by {@link #MAX_PADDED_TOKENS} padded tokens for the memory of its outputs.
 *
 * <pre>{@code
 * try (LocalInferenceService s = LocalInferenceService.load(Path.of("testdata/xlmr-base"), "xlmr-base", 0)) {
 *     float[][] v = s.embed(s.prepare(List.of("Hello", "Bonjour"), null, false), Pooling.AUTO, true);
 * }
 * }</pre>
 */
public final class LocalInferenceService implements InferenceService {
    /** Padded tokens (rows x longest) per forward pass at most: bounds the memory of one pass's outputs. */
    static final int MAX_PADDED_TOKENS = 1 << 17;

    private final ModelSession session;
    private final EmbeddingPipeline embeddings;
    private final TextClassificationPipeline classifier;
    private final XlmRobertaTokenizer tokenizer;
    private final ModelInfo info;

    /** An input of this service: the pipeline's prepared embedding input, or a classification encoding. */
    private record Prepared(EmbeddingPipeline.Input embedding, Encoding pair, int tokens, int fullTokens) implements Input {}

    private LocalInferenceService(ModelSession session, String modelId, int maxInputLength) {
        this.session = session;
        this.tokenizer = session.tokenizer();
        ModelConfig config = session.config();
        boolean classifies = config.head() == Head.SEQUENCE_CLASSIFICATION;
        ModelKind kind = !classifies ? ModelKind.EMBEDDING : config.numLabels() == 1 ? ModelKind.RERANKER : ModelKind.CLASSIFIER;
        int limit = config.maxSequenceLength();
        if (maxInputLength > limit) {
            throw new IllegalArgumentException("max input length " + maxInputLength + " exceeds the model's limit of "
                    + limit + " tokens");
        }
        if (classifies) {
            this.embeddings = null;
            this.classifier = session.textClassification();
            if (maxInputLength > 0) classifier.maxLength(maxInputLength);
            classifier.warnings(w -> { }).batchSize(Integer.MAX_VALUE).maxBatchTokens(MAX_PADDED_TOKENS);
            this.info = new ModelInfo(modelId, kind, "none", config.hiddenSize(), classifier.maxLength(), config.id2label());
        } else {
            this.classifier = null;
            this.embeddings = session.embeddings();
            if (maxInputLength > 0) embeddings.maxLength(maxInputLength);
            embeddings.warnings(w -> { }).batchSize(Integer.MAX_VALUE).maxBatchTokens(MAX_PADDED_TOKENS);
            this.info = new ModelInfo(modelId, kind, embeddings.poolingName(), config.hiddenSize(),
                    embeddings.inputLimit(), config.id2label());
        }
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
        ModelSession session = ModelSession.open(dir, true);
        try {
            return new LocalInferenceService(session, modelId, maxInputLength);
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    /** The embedding pipeline the service embeds with (null for a classifier). */
    public EmbeddingPipeline embeddings() {
        return embeddings;
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public List<Input> prepare(List<String> texts, String promptName, boolean truncate) {
        requireKind(ModelKind.EMBEDDING, "embeddings");
        List<Input> out = new ArrayList<>(texts.size());
        for (EmbeddingPipeline.Input in : embeddings.prepare(texts, options(Pooling.AUTO, false, promptName), truncate)) {
            out.add(new Prepared(in, null, in.length(), in.fullLength()));
        }
        return out;
    }

    @Override
    public List<Input> preparePairs(List<String> texts, List<String> pairs, boolean truncate) {
        if (classifier == null) {
            throw new UnsupportedOperationException("the model is not a sequence classifier");
        }
        List<Input> out = new ArrayList<>(texts.size());
        List<Encoding> whole = classifier.prepare(texts, pairs, false);
        for (int i = 0; i < whole.size(); i++) {
            Encoding e = whole.get(i);
            int full = e.length();
            if (truncate && full > info.maxInputLength()) {
                // only the long ones are tokenized again, with the cut
                e = classifier.prepare(List.of(texts.get(i)), pairs == null ? null : java.util.Collections.singletonList(pairs.get(i)),
                        true).getFirst();
            }
            out.add(new Prepared(null, e, e.length(), full));
        }
        return out;
    }

    /** The pipeline's options; prompt name "" is no prompt at all (not even the folder's default). */
    private static EmbeddingPipeline.Options options(Pooling pooling, boolean normalize, String promptName) {
        EmbeddingPipeline.Options o = EmbeddingPipeline.Options.defaults().pooling(pooling).normalize(normalize);
        return promptName == null ? o : promptName.isEmpty() ? o.prefix("") : o.promptName(promptName);
    }

    private List<EmbeddingPipeline.Input> embeddingInputs(List<Input> inputs) {
        requireKind(ModelKind.EMBEDDING, "embeddings");
        List<EmbeddingPipeline.Input> out = new ArrayList<>(checked(inputs).size());
        for (Input in : inputs) {
            if (!(in instanceof Prepared p) || p.embedding() == null) {
                throw new IllegalArgumentException("not an embedding input of this service");
            }
            out.add(p.embedding());
        }
        return out;
    }

    private List<Encoding> pairInputs(List<Input> inputs) {
        List<Encoding> out = new ArrayList<>(checked(inputs).size());
        for (Input in : inputs) {
            if (!(in instanceof Prepared p) || p.pair() == null) {
                throw new IllegalArgumentException("not a classification input of this service");
            }
            out.add(p.pair());
        }
        return out;
    }

    @Override
    public float[][] embed(List<Input> inputs, Pooling pooling, boolean normalize) {
        if (pooling == Pooling.NONE) throw new IllegalArgumentException("pooling none gives token embeddings: use embed_all");
        return embeddings.embedPrepared(embeddingInputs(inputs), options(pooling, normalize, null)).toArray(float[][]::new);
    }

    @Override
    public float[][][] embedAll(List<Input> inputs) {
        return embeddings.tokenEmbeddingsPrepared(embeddingInputs(inputs), options(Pooling.NONE, false, null))
                .toArray(float[][][]::new);
    }

    @Override
    public float[][] paddedBatchMean(List<Input> inputs) {
        return embeddings.paddedBatchMean(embeddingInputs(inputs)).toArray(float[][]::new);
    }

    @Override
    public List<List<Prediction>> classify(List<Input> inputs, boolean rawScores) {
        if (info.kind() == ModelKind.EMBEDDING) {
            throw new UnsupportedOperationException("the model is not a sequence classifier");
        }
        TextClassificationPipeline.Options o = TextClassificationPipeline.Options.all()
                .function(rawScores ? TextClassificationPipeline.Function.NONE : null);
        List<List<Prediction>> out = new ArrayList<>(inputs.size());
        for (List<TextClassificationPipeline.Label> labels : classifier.classifyPrepared(pairInputs(inputs), o)) {
            out.add(labels.stream().map(l -> new Prediction(l.label(), (float) l.score())).toList());
        }
        return out;
    }

    @Override
    public float[] rerank(List<Input> pairs, boolean rawScores) {
        if (info.kind() != ModelKind.RERANKER) {
            throw new UnsupportedOperationException("the model is not a re-ranker (a sequence classifier with one label)");
        }
        TextClassificationPipeline.Options o = TextClassificationPipeline.Options.all()
                .function(rawScores ? TextClassificationPipeline.Function.NONE : TextClassificationPipeline.Function.SIGMOID);
        List<List<TextClassificationPipeline.Label>> labels = classifier.classifyPrepared(pairInputs(pairs), o);
        float[] out = new float[labels.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) labels.get(i).getFirst().score();
        return out;
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
        session.close();
    }

    private void requireKind(ModelKind kind, String what) {
        if (info.kind() != kind) {
            throw new UnsupportedOperationException("the model is a " + info.kind().name().toLowerCase(Locale.ROOT)
                    + ", not an embedding model: no " + what);
        }
    }
}
