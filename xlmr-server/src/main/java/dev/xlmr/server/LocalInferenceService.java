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

    /**
     * How the model is served, with text-embeddings-inference's options.
     *
     * @param maxInputLength    longest input in tokens; 0 for the model's limit (and sentence-transformers'
     *                          {@code max_seq_length} when smaller)
     * @param pooling           the pooling of embeddings instead of the folder's (TEI's {@code --pooling}), or null
     * @param defaultPromptName a prompt of config_sentence_transformers.json for requests that name none, or null
     * @param defaultPrompt     a text put before every input of requests that name no prompt, or null
     * @param withHead          keep a token-level task head (masked LM, token classification, question answering)
     *                          so that the task routes answer; embeddings then also pay for the head
     */
    public record Settings(int maxInputLength, Pooling pooling, String defaultPromptName, String defaultPrompt,
                           boolean withHead) {
        public Settings {
            if (maxInputLength < 0) throw new IllegalArgumentException("max input length must be >= 0");
            if (defaultPromptName != null && defaultPrompt != null) {
                throw new IllegalArgumentException("give a default prompt name or a default prompt, not both");
            }
            if (pooling == Pooling.NONE) throw new IllegalArgumentException("pooling none gives no sentence embeddings");
        }

        public static Settings defaults() {
            return new Settings(0, null, null, null, false);
        }

        public Settings maxInputLength(int v) {
            return new Settings(v, pooling, defaultPromptName, defaultPrompt, withHead);
        }

        public Settings pooling(Pooling v) {
            return new Settings(maxInputLength, v, defaultPromptName, defaultPrompt, withHead);
        }

        public Settings defaultPromptName(String v) {
            return new Settings(maxInputLength, pooling, v, defaultPrompt, withHead);
        }

        public Settings defaultPrompt(String v) {
            return new Settings(maxInputLength, pooling, defaultPromptName, v, withHead);
        }

        public Settings withHead(boolean v) {
            return new Settings(maxInputLength, pooling, defaultPromptName, defaultPrompt, v);
        }
    }

    private final Settings settings;
    private final java.util.concurrent.ConcurrentHashMap<String, Object> tasks = new java.util.concurrent.ConcurrentHashMap<>();

    private LocalInferenceService(ModelSession session, String modelId, Settings settings) {
        this.session = session;
        this.settings = settings;
        int maxInputLength = settings.maxInputLength();
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
            String pooling = settings.pooling() == null ? embeddings.poolingName()
                    : settings.pooling().name().toLowerCase(Locale.ROOT);
            this.info = new ModelInfo(modelId, kind, pooling, config.hiddenSize(), embeddings.inputLimit(), config.id2label());
            if (settings.defaultPromptName() != null && !embeddings.prompts().containsKey(settings.defaultPromptName())) {
                throw new IllegalArgumentException("the default prompt name '" + settings.defaultPromptName()
                        + "' is not a prompt of the model" + (embeddings.prompts().isEmpty()
                        ? " (it has none in config_sentence_transformers.json)" : "; it has " + embeddings.prompts().keySet()));
            }
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
        return load(dir, modelId, Settings.defaults().maxInputLength(maxInputLength));
    }

    /**
     * Loads a model folder with serving settings.
     *
     * @throws IllegalArgumentException when the folder is unusable or a setting does not fit the model
     */
    public static LocalInferenceService load(Path dir, String modelId, Settings settings) {
        ModelSession session = ModelSession.open(dir, !settings.withHead());
        try {
            return new LocalInferenceService(session, modelId, settings);
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
        for (EmbeddingPipeline.Input in : embeddings.prepare(texts, promptOptions(promptName), truncate)) {
            out.add(new Prepared(in, null, in.length(), in.fullLength()));
        }
        return out;
    }

    /**
     * The prompt of a request: its {@code prompt_name} ("" for none at all), else the server's default prompt
     * (name or text), else the folder's default prompt.
     */
    private EmbeddingPipeline.Options promptOptions(String promptName) {
        if (promptName == null && settings.defaultPrompt() != null) {
            return EmbeddingPipeline.Options.defaults().prefix(settings.defaultPrompt());
        }
        return options(Pooling.AUTO, false, promptName == null ? settings.defaultPromptName() : promptName);
    }

    /** The text of the prompt a request gets (null: none), as {@link #promptOptions} chooses it. */
    private String promptText(String promptName) {
        EmbeddingPipeline.Options o = promptOptions(promptName);
        String text;
        if (o.prefix() != null) {
            text = o.prefix();
        } else if (o.promptName() != null) {
            text = embeddings.prompts().get(o.promptName());
            if (text == null) throw new IllegalArgumentException("no prompt named '" + o.promptName() + "'"
                    + (embeddings.prompts().isEmpty() ? " (the model has no prompts in config_sentence_transformers.json)"
                    : "; the model has " + embeddings.prompts().keySet()));
        } else {
            var st = embeddings.sentenceTransformers();
            text = st == null || st.defaultPromptName() == null ? null : st.prompts().get(st.defaultPromptName());
        }
        return text == null || text.isEmpty() ? null : text;
    }

    @Override
    public List<Input> prepare(List<EmbedInput> inputs, String promptName, boolean truncate, boolean truncateLeft) {
        requireKind(ModelKind.EMBEDDING, "embeddings");
        String prompt = promptText(promptName);
        int limit = embeddings.inputLimit();
        List<String> texts = new ArrayList<>();
        List<Integer> textAt = new ArrayList<>();
        Input[] out = new Input[inputs.size()];
        for (int i = 0; i < inputs.size(); i++) {
            EmbedInput in = inputs.get(i);
            if (in.ids() != null) {
                for (int id : in.ids()) {
                    if (id < 0 || id >= tokenizer.vocabSize()) {
                        throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.."
                                + (tokenizer.vocabSize() - 1) + ")");
                    }
                }
            }
            if (in.ids() != null && prompt == null) {
                Encoding e = idsEncoding(in.ids());
                int full = e.length();
                if (truncate && full > limit) {
                    e = slice(e, truncateLeft ? full - limit : 0, limit);
                }
                out[i] = new Prepared(new EmbeddingPipeline.Input(e, 0, full), null, e.length(), full);
            } else {
                texts.add(in.ids() != null ? tokenizer.decode(in.ids(), true) : in.text());
                textAt.add(i);
            }
        }
        if (!texts.isEmpty()) {
            List<EmbeddingPipeline.Input> prepared = embeddings.prepare(texts, promptOptions(promptName), truncate && !truncateLeft);
            for (int k = 0; k < prepared.size(); k++) {
                EmbeddingPipeline.Input p = prepared.get(k);
                if (truncate && truncateLeft && p.length() > limit) p = cutLeft(p, limit);
                out[textAt.get(k)] = new Prepared(p, null, p.length(), p.fullLength());
            }
        }
        return List.of(out);
    }

    /** Token ids as an encoding that the model runs as given. */
    private Encoding idsEncoding(int[] ids) {
        int n = ids.length;
        String[] tokens = new String[n];
        int[] zeros = new int[n];
        int[] ones = new int[n];
        int[] none = new int[n];
        java.util.Arrays.fill(ones, 1);
        java.util.Arrays.fill(none, -1);
        for (int i = 0; i < n; i++) tokens[i] = tokenizer.idToToken(ids[i]);
        return new Encoding(ids.clone(), tokens, zeros, zeros, zeros, ones, zeros.clone(), none, zeros.clone(), List.of());
    }

    /**
     * Left truncation of a text's encoding by the tokenizer (as Hugging Face tokenizers cut it: {@code <s>}, the
     * last {@code limit - 2} tokens, {@code </s>}); prompt tokens cut away leave the pooling too.
     */
    private EmbeddingPipeline.Input cutLeft(EmbeddingPipeline.Input in, int limit) {
        Encoding cut = tokenizer.truncate(in.encoding(),
                EncodeOptions.defaults().maxLength(limit).truncationSide(EncodeOptions.Side.LEFT));
        int removed = in.length() - cut.length();
        int prompt = in.promptTokens() == 0 ? 0 : Math.max(1, in.promptTokens() - removed);
        return new EmbeddingPipeline.Input(cut, prompt, in.fullLength());
    }

    private static Encoding slice(Encoding e, int from, int length) {
        int[] keep = new int[length];
        for (int k = 0; k < length; k++) keep[k] = from + k;
        return pick(e, keep);
    }

    private static Encoding pick(Encoding e, int[] keep) {
        int n = keep.length;
        int[] ids = new int[n], type = new int[n], starts = new int[n], ends = new int[n], mask = new int[n],
                special = new int[n], words = new int[n], seq = new int[n];
        String[] tokens = new String[n];
        for (int k = 0; k < n; k++) {
            int i = keep[k];
            ids[k] = e.ids()[i];
            tokens[k] = e.tokens()[i];
            type[k] = e.typeIds()[i];
            starts[k] = e.starts()[i];
            ends[k] = e.ends()[i];
            mask[k] = e.attentionMask()[i];
            special[k] = e.specialTokensMask()[i];
            words[k] = e.wordIds()[i];
            seq[k] = e.sequenceIds()[i];
        }
        return new Encoding(ids, tokens, type, starts, ends, mask, special, words, seq, List.of());
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
                e = classifier.truncate(e); // the long ones cut, not tokenized again
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
        return embeddingInputs(inputs, true);
    }

    /** The pipeline's inputs; {@code check}: refuse those longer than the window (all but windows do). */
    private List<EmbeddingPipeline.Input> embeddingInputs(List<Input> inputs, boolean check) {
        requireKind(ModelKind.EMBEDDING, "embeddings");
        List<EmbeddingPipeline.Input> out = new ArrayList<>((check ? checked(inputs) : inputs).size());
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
        Pooling p = pooling == Pooling.AUTO && settings.pooling() != null ? settings.pooling() : pooling;
        return embeddings.embedPrepared(embeddingInputs(inputs), options(p, normalize, null)).toArray(float[][]::new);
    }

    @Override
    public List<dev.xlmr.pipelines.SparseEmbedding> embedSparse(List<Input> inputs) {
        requireKind(ModelKind.EMBEDDING, "sparse embeddings");
        if (!embeddings.supports(EmbeddingPipeline.Output.SPARSE)) {
            throw new UnsupportedOperationException("the model gives no sparse vectors (a SPLADE or BGE-M3 model does)");
        }
        return embeddings.encodePrepared(embeddingInputs(inputs), EmbeddingPipeline.Options.defaults(),
                java.util.EnumSet.of(EmbeddingPipeline.Output.SPARSE)).stream().map(dev.xlmr.pipelines.MultiEmbedding::sparse).toList();
    }

    @Override
    public List<dev.xlmr.pipelines.MultiEmbedding> encode(List<Input> inputs,
            java.util.Set<EmbeddingPipeline.Output> outputs, boolean normalize, boolean windows, int overlap,
            String promptName) {
        requireKind(ModelKind.EMBEDDING, "embeddings");
        for (EmbeddingPipeline.Output o : outputs) {
            if (!embeddings.supports(o)) {
                throw new UnsupportedOperationException("the model gives no " + o.name().toLowerCase(java.util.Locale.ROOT)
                        + " output (it gives " + embeddings.outputs().toString().toLowerCase(java.util.Locale.ROOT) + ")");
            }
        }
        Pooling p = settings.pooling() != null ? settings.pooling() : Pooling.AUTO;
        EmbeddingPipeline.Options o = promptOptions(promptName).pooling(p).normalize(normalize).overlap(overlap)
                .longInputs(windows ? EmbeddingPipeline.LongInputs.WINDOWS : EmbeddingPipeline.LongInputs.TRUNCATE);
        return embeddings.encodePrepared(embeddingInputs(inputs, !windows), o, outputs);
    }

    @Override
    public List<List<float[]>> lateChunking(List<List<String>> documents, String promptName, boolean normalize,
                                            int overlap) {
        requireKind(ModelKind.EMBEDDING, "embeddings");
        EmbeddingPipeline.Options o = promptOptions(promptName).normalize(normalize).overlap(overlap);
        if (settings.pooling() != null) {
            o = o.pooling(settings.pooling());
        }
        return embeddings.lateChunkingAll(documents, o);
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

    /**
     * Runs one batch as large as the server's batches can be: {@code maxBatchTokens} tokens (at least one input)
     * in inputs of the longest length. Every buffer of the forward pass (the kernels' native ones, the encoder's
     * activation arrays) then has its largest size before the first request, so resident memory stays flat under
     * any traffic instead of rising in a step whenever a batch larger than any before comes (issue 15). What
     * {@code xlmr serve} does before it listens, as text-embeddings-inference warms up.
     *
     * <pre>{@code
     * int tokens = service.warmUp(ServerOptions.defaults().maxBatchTokens()); // 16,384 on a 512-token model
     * }</pre>
     *
     * @return the tokens run
     */
    public int warmUp(int maxBatchTokens) {
        int longest = info.maxInputLength();
        int count = Math.max(1, maxBatchTokens / longest);
        // more words than the limit, cut to it: `longest` tokens each, special tokens included
        List<String> texts = java.util.Collections.nCopies(count, "warm up ".repeat(longest));
        List<Input> inputs = info.kind() == ModelKind.EMBEDDING ? prepare(texts, "", true) : preparePairs(texts, null, true);
        int tokens = inputs.stream().mapToInt(Input::tokens).sum();
        if (info.kind() == ModelKind.EMBEDDING) {
            embed(inputs, Pooling.AUTO, false);
        } else {
            classify(inputs, true);
        }
        return tokens;
    }

    @Override
    public List<List<Token>> tokenize(List<String> texts, boolean addSpecialTokens) {
        EncodeOptions opts = EncodeOptions.defaults().addSpecialTokens(addSpecialTokens);
        List<List<Token>> out = new ArrayList<>(texts.size());
        for (String text : texts) {
            Encoding e = tokenizer.encode(text, null, opts);
            int[] bytes = utf8Offsets(text);
            List<Token> tokens = new ArrayList<>(e.length());
            for (int t = 0; t < e.length(); t++) {
                boolean special = e.specialTokensMask()[t] == 1;
                tokens.add(special
                        ? new Token(e.ids()[t], e.tokens()[t], true, null, null)
                        : new Token(e.ids()[t], text.substring(e.starts()[t], e.ends()[t]), false,
                                bytes[e.starts()[t]], bytes[e.ends()[t]]));
            }
            out.add(tokens);
        }
        return out;
    }

    /** The UTF-8 byte offset of every UTF-16 index of a text (length + 1 entries). */
    static int[] utf8Offsets(String text) {
        int[] out = new int[text.length() + 1];
        int b = 0;
        for (int i = 0; i < text.length(); i++) {
            out[i] = b;
            char c = text.charAt(i);
            if (c < 0x80) b += 1;
            else if (c < 0x800) b += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                out[++i] = b; // inside a pair: no offset of its own
                b += 4;
            } else b += 3;
        }
        out[text.length()] = b;
        return out;
    }

    @Override
    public dev.xlmr.pipelines.Pipeline taskPipeline(String task) {
        Object p = tasks.computeIfAbsent(task, this::makeTask);
        if (p instanceof String why) throw new UnsupportedOperationException(why);
        return (dev.xlmr.pipelines.Pipeline) p;
    }

    /** The head of the checkpoint (the session's encoder may run without it). */
    private Head checkpointHead() {
        var st = session.sentenceTransformers();
        Path model = st == null ? session.dir() : st.transformerDir();
        try {
            return ModelConfig.load(model.resolve("config.json")).head();
        } catch (RuntimeException e) {
            return session.config().head();
        }
    }

    /** The task's pipeline on the session's encoder, or why the model cannot do it. */
    private Object makeTask(String task) {
        Head head = checkpointHead();
        Head needs = switch (task) {
            case "fill-mask" -> Head.MASKED_LM;
            case "ner" -> Head.TOKEN_CLASSIFICATION;
            case "qa" -> Head.QUESTION_ANSWERING;
            case "zero-shot" -> Head.SEQUENCE_CLASSIFICATION;
            default -> throw new IllegalArgumentException("no task " + task);
        };
        String name = needs.name().toLowerCase(Locale.ROOT).replace('_', ' ');
        if (head != needs) {
            return task + " needs a model with a " + name + " head; this one has " + head.name().toLowerCase(Locale.ROOT).replace('_', ' ');
        }
        if (session.encoder().config().head() != needs) {
            return task + " needs the model's " + name + " head: start the server with --with-head to keep it";
        }
        try {
            dev.xlmr.pipelines.Pipeline p = switch (task) {
                case "fill-mask" -> new dev.xlmr.pipelines.FillMaskPipeline(session.encoder(), tokenizer);
                case "ner" -> new dev.xlmr.pipelines.TokenClassificationPipeline(session.encoder(), tokenizer);
                case "qa" -> new dev.xlmr.pipelines.QuestionAnsweringPipeline(session.encoder(), tokenizer);
                default -> new dev.xlmr.pipelines.ZeroShotClassificationPipeline(session.encoder(), tokenizer);
            };
            p.warnings(w -> { });
            return p;
        } catch (IllegalArgumentException e) {
            return task + ": " + e.getMessage();
        }
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
