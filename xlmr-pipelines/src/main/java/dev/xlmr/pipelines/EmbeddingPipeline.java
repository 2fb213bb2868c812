package dev.xlmr.pipelines;

import dev.xlmr.engine.FastEncoder;
import dev.xlmr.model.Batch;
import dev.xlmr.model.Encoder;
import dev.xlmr.model.NdArray;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Feature extraction: token embeddings (transformers' {@code pipeline("feature-extraction")}) and
 * sentence embeddings as sentence-transformers computes them.
 *
 * <pre>{@code
 * try (EmbeddingPipeline embed = EmbeddingPipeline.load("intfloat/multilingual-e5-base")) {
 *     float[] q = embed.embed("how do I reset my password?", EmbeddingPipeline.Options.defaults().promptName("query"));
 *     double sim = embed.similarity("Hello world!", "Bonjour le monde !");
 * }
 * }</pre>
 *
 * <p>When the model folder is a sentence-transformers folder ({@code modules.json}), the pooling
 * {@link Pooling#AUTO} follows it: {@code 1_Pooling/config.json} (cls, mean, max, mean_sqrt_len,
 * weightedmean, lasttoken; several modes are concatenated in that order), {@code 2_Normalize},
 * {@code sentence_bert_config.json} ({@code max_seq_length}, {@code do_lower_case}) and the
 * {@code prompts} of {@code config_sentence_transformers.json}. With such a folder, texts are
 * stripped (and lower-cased when {@code do_lower_case}) and cut at {@code max_seq_length} as
 * sentence-transformers does, whatever the pooling. Without such a folder AUTO means mean pooling over the attention mask
 * (what sentence-transformers uses for a plain model). An explicit pooling ignores the folder's
 * pooling and normalisation; {@link Options#normalize} adds L2 normalisation to any pooling.
 * Inputs longer than the model allows are truncated with a warning.
 *
 * <p>Beyond one dense vector ({@link #encode} with {@link Output}s, all from one forward pass):
 * <ul>
 *   <li>sentence-transformers {@code Dense} modules ({@code 2_Dense}) run in the module chain;</li>
 *   <li>{@link Options#dimensions} truncates (Matryoshka) after the chain, and L2-normalises again only
 *       with {@link Options#normalize} (sentence-transformers' truncate_dim; TEI's {@code dimensions}
 *       with normalize true);</li>
 *   <li>BGE-M3 folders ({@code sparse_linear.pt}, {@code colbert_linear.pt}, see {@link M3Heads}) give
 *       lexical weights as {@link Output#SPARSE} and ColBERT vectors as {@link Output#COLBERT}, scored
 *       by {@link #m3Scores} as FlagEmbedding's compute_score;</li>
 *   <li>SparseEncoder folders ({@code SpladePooling} over a masked-LM head) give SPLADE vectors as
 *       {@link Output#SPARSE}, pruned to {@link Options#maxActiveDims} when asked;</li>
 *   <li>{@link Quantization} turns a batch of dense vectors into int8/uint8/binary/ubinary;</li>
 *   <li>texts longer than the window go through overlapping windows with {@link LongInputs#WINDOWS}, and
 *       {@link #lateChunking} embeds the chunks of a document in its context ({@link LongDocuments}).</li>
 * </ul>
 *
 * <pre>{@code
 * try (EmbeddingPipeline m3 = EmbeddingPipeline.load("BAAI/bge-m3")) {
 *     List<MultiEmbedding> out = m3.encode(List.of("What is BGE M3?"), Options.defaults(),
 *             EnumSet.allOf(EmbeddingPipeline.Output.class));
 *     Scores.M3 s = m3.m3Scores("What is BGE M3?", "BGE M3 is an embedding model.");
 * }
 * }</pre>
 */
public final class EmbeddingPipeline extends Pipeline {

    /** How token embeddings become one vector. */
    public enum Pooling {
        /** The sentence-transformers configuration of the folder, else MEAN. */
        AUTO,
        /** Mean over the tokens of the attention mask (special tokens included, as sentence-transformers). */
        MEAN,
        /** The first token ({@code <s>}). */
        CLS,
        /** Element-wise maximum over the tokens. */
        MAX,
        /** Sum over the tokens divided by the square root of their number. */
        MEAN_SQRT_LEN,
        /** Mean weighted by position (1, 2, ...). */
        WEIGHTED_MEAN,
        /** The last token. */
        LAST_TOKEN,
        /** The model's pooler output (dense + tanh on {@code <s>}); needs a model with a pooler. */
        POOLER,
        /** No pooling: one vector per token ({@link #tokenEmbeddings}). */
        NONE;

        /** Parses a name such as "mean", "cls", "mean_sqrt_len", "none" (case-insensitive, - or _). */
        public static Pooling parse(String name) {
            String n = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
            if (n.equals("WEIGHTEDMEAN")) {
                return WEIGHTED_MEAN;
            }
            if (n.equals("LASTTOKEN")) {
                return LAST_TOKEN;
            }
            for (Pooling p : values()) {
                if (p.name().equals(n)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("unknown pooling '" + name
                    + "' (auto, mean, cls, max, mean_sqrt_len, weighted_mean, last_token, pooler, none)");
        }
    }

    /** The outputs {@link #encode} can give. */
    public enum Output {
        /** The sentence embedding ({@link #embedAll}). */
        DENSE,
        /** BGE-M3 lexical weights, or a SPLADE vector for a SparseEncoder folder. */
        SPARSE,
        /** BGE-M3 ColBERT vectors. */
        COLBERT;

        /** Parses "dense", "sparse", "colbert" (case-insensitive). */
        public static Output parse(String name) {
            for (Output o : values()) {
                if (o.name().equalsIgnoreCase(name.trim())) {
                    return o;
                }
            }
            throw new IllegalArgumentException("unknown output '" + name + "' (dense, sparse, colbert)");
        }
    }

    /** What happens to an input longer than the window ({@link #inputLimit()}). */
    public enum LongInputs {
        /** Cut at the window, with a warning (sentence-transformers and TEI with truncate). */
        TRUNCATE,
        /**
         * Overlapping windows ({@link Options#overlap} tokens shared by neighbours), each run alone; see
         * {@link LongDocuments}: dense = the token-weighted mean of the windows' pooled vectors, sparse = the
         * maximum per id, ColBERT = one vector per token of the whole text.
         */
        WINDOWS;

        /** Parses "truncate" or "windows" (case-insensitive). */
        public static LongInputs parse(String name) {
            for (LongInputs l : values()) {
                if (l.name().equalsIgnoreCase(name.trim())) {
                    return l;
                }
            }
            throw new IllegalArgumentException("unknown long-input mode '" + name + "' (truncate, windows)");
        }
    }

    /**
     * How to embed.
     *
     * @param pooling       the pooling (AUTO: the folder's sentence-transformers configuration, else mean)
     * @param normalize     L2-normalise the result (on top of a folder's Normalize module under AUTO; after
     *                      the truncation to {@code dimensions})
     * @param promptName    a prompt of config_sentence_transformers.json (e.g. "query"), or null for the
     *                      folder's default prompt if it has one
     * @param prefix        a literal text put before each input (instead of a named prompt), or null
     * @param dimensions    keep the first this many values of the dense embedding (Matryoshka), 0 for all
     * @param maxActiveDims keep the this many largest weights of sparse outputs, 0 for all
     * @param longInputs    inputs longer than the window: truncated, or embedded through overlapping windows
     * @param overlap       tokens shared by neighbouring windows (windows and late chunking), or -1 for a quarter
     *                      of the window
     */
    public record Options(Pooling pooling, boolean normalize, String promptName, String prefix, int dimensions,
                          int maxActiveDims, LongInputs longInputs, int overlap) {
        public Options {
            if (pooling == null) {
                pooling = Pooling.AUTO;
            }
            if (longInputs == null) {
                longInputs = LongInputs.TRUNCATE;
            }
            if (promptName != null && prefix != null) {
                throw new IllegalArgumentException("give a prompt name or a prefix, not both");
            }
            if (dimensions < 0) {
                throw new IllegalArgumentException("dimensions must be positive, got " + dimensions);
            }
            if (maxActiveDims < 0) {
                throw new IllegalArgumentException("max active dims must be positive, got " + maxActiveDims);
            }
            if (overlap < -1) {
                throw new IllegalArgumentException("overlap must not be negative, got " + overlap);
            }
        }

        /** Options that truncate long inputs. */
        public Options(Pooling pooling, boolean normalize, String promptName, String prefix, int dimensions,
                       int maxActiveDims) {
            this(pooling, normalize, promptName, prefix, dimensions, maxActiveDims, LongInputs.TRUNCATE, -1);
        }

        /** Options with all dimensions and all sparse weights. */
        public Options(Pooling pooling, boolean normalize, String promptName, String prefix) {
            this(pooling, normalize, promptName, prefix, 0, 0);
        }

        public static Options defaults() {
            return new Options(Pooling.AUTO, false, null, null);
        }

        public Options pooling(Pooling p) {
            return new Options(p, normalize, promptName, prefix, dimensions, maxActiveDims, longInputs, overlap);
        }

        public Options normalize(boolean n) {
            return new Options(pooling, n, promptName, prefix, dimensions, maxActiveDims, longInputs, overlap);
        }

        public Options promptName(String name) {
            return new Options(pooling, normalize, name, prefix, dimensions, maxActiveDims, longInputs, overlap);
        }

        public Options prefix(String p) {
            return new Options(pooling, normalize, promptName, p, dimensions, maxActiveDims, longInputs, overlap);
        }

        /** The first {@code n} dimensions of the dense embedding (0: all). */
        public Options dimensions(int n) {
            return new Options(pooling, normalize, promptName, prefix, n, maxActiveDims, longInputs, overlap);
        }

        /** The {@code k} largest sparse weights (0: all). */
        public Options maxActiveDims(int k) {
            return new Options(pooling, normalize, promptName, prefix, dimensions, k, longInputs, overlap);
        }

        /** Truncate long inputs or embed them through windows. */
        public Options longInputs(LongInputs l) {
            return new Options(pooling, normalize, promptName, prefix, dimensions, maxActiveDims, l, overlap);
        }

        /** Tokens shared by neighbouring windows (-1: a quarter of the window). */
        public Options overlap(int tokens) {
            return new Options(pooling, normalize, promptName, prefix, dimensions, maxActiveDims, longInputs, tokens);
        }
    }

    private final SentenceTransformers st;
    private final M3Heads m3;
    private final Set<Integer> m3Unused;
    private volatile M3Heads.Fast m3Fast;

    /** Token and sentence embeddings of an encoder, without sentence-transformers configuration. */
    public EmbeddingPipeline(Encoder encoder, XlmRobertaTokenizer tokenizer) {
        this(source(encoder, tokenizer), (SentenceTransformers) null, null);
    }

    /**
     * Embeddings of an encoder following the sentence-transformers files of {@code folder}
     * (modules.json, 1_Pooling, 2_Dense, 2_Normalize, sentence_bert_config.json, config_sentence_transformers.json)
     * and its BGE-M3 heads (sparse_linear.pt, colbert_linear.pt) when it has them.
     */
    public EmbeddingPipeline(Encoder encoder, XlmRobertaTokenizer tokenizer, Path folder) {
        this(source(encoder, tokenizer), folder == null ? null : SentenceTransformers.read(folder), folder);
    }

    EmbeddingPipeline(Source s) {
        this(s, s.sentenceTransformers(), s.dir());
    }

    private EmbeddingPipeline(Source s, SentenceTransformers st, Path folder) {
        super(s);
        this.st = st;
        this.m3 = M3Heads.read(folder);
        if (m3 != null && m3.hiddenSize() != encoder.config().hiddenSize()) {
            throw new IllegalArgumentException(folder + ": the BGE-M3 heads take " + m3.hiddenSize()
                    + " values, the model's hidden size is " + encoder.config().hiddenSize());
        }
        // FlagEmbedding drops cls, eos, pad and unk from the lexical weights
        Set<Integer> unused = new java.util.HashSet<>();
        for (String t : new String[] {"<s>", "</s>", "<pad>", "<unk>"}) {
            int id = tokenizer.tokenToId(t);
            if (id >= 0) {
                unused.add(id);
            }
        }
        this.m3Unused = Set.copyOf(unused);
    }

    /** Loads a model folder or hub id (revision {@code main}). */
    public static EmbeddingPipeline load(String modelOrPath) {
        return load(modelOrPath, null);
    }

    /** Loads a model folder or hub id at a revision. */
    public static EmbeddingPipeline load(String modelOrPath, String revision) {
        return build(modelOrPath, revision, EmbeddingPipeline::new);
    }

    /** The sentence-transformers configuration in use, or null. */
    public SentenceTransformers sentenceTransformers() {
        return st;
    }

    /** Whether a sentence-transformers configuration (modules.json) was found. */
    public boolean isSentenceTransformers() {
        return st != null;
    }

    /** The named prompts of config_sentence_transformers.json (empty when none). */
    public Map<String, String> prompts() {
        return st == null ? Map.of() : st.prompts();
    }

    /** The sentence embedding of a text with the default options. */
    public float[] embed(String text) {
        return embed(text, Options.defaults());
    }

    /** The sentence embedding of a text. */
    public float[] embed(String text, Options options) {
        return embedAll(List.of(text), options).get(0);
    }

    /** Batched sentence embeddings, in the order of the texts. */
    public List<float[]> embedAll(List<String> texts, Options options) {
        if (options.pooling() == Pooling.NONE) {
            throw new IllegalArgumentException("pooling none gives token embeddings: use tokenEmbeddings");
        }
        return embedPrepared(prepare(texts, options, options.longInputs() == LongInputs.TRUNCATE), options);
    }

    /** The BGE-M3 heads of the folder, or null. */
    public M3Heads m3Heads() {
        return m3;
    }

    /** Whether the model gives an output: dense unless SPLADE, sparse for BGE-M3 or SPLADE, ColBERT for BGE-M3. */
    public boolean supports(Output output) {
        return switch (output) {
            case DENSE -> st == null || st.splade() == null;
            case SPARSE -> m3 != null && m3.hasSparse() || st != null && st.splade() != null;
            case COLBERT -> m3 != null && m3.hasColbert();
        };
    }

    /** The outputs the model gives ({@link #supports}). */
    public Set<Output> outputs() {
        Set<Output> out = EnumSet.noneOf(Output.class);
        for (Output o : Output.values()) {
            if (supports(o)) {
                out.add(o);
            }
        }
        return out;
    }

    /** Several outputs of each text from one forward pass, in the order of the texts. */
    public List<MultiEmbedding> encode(List<String> texts, Options options, Set<Output> outputs) {
        return encodePrepared(prepare(texts, options, options.longInputs() == LongInputs.TRUNCATE), options, outputs);
    }

    /** Sparse vectors (BGE-M3 lexical weights or SPLADE), in the order of the texts. */
    public List<SparseEmbedding> sparseEmbeddings(List<String> texts, Options options) {
        return encode(texts, options, EnumSet.of(Output.SPARSE)).stream().map(MultiEmbedding::sparse).toList();
    }

    /** BGE-M3 ColBERT vectors, in the order of the texts. */
    public List<float[][]> colbertVectors(List<String> texts, Options options) {
        return encode(texts, options, EnumSet.of(Output.COLBERT)).stream().map(MultiEmbedding::colbert).toList();
    }

    /** BGE-M3's compute_score of one pair with the default weights [1, 1, 1]. */
    public Scores.M3 m3Scores(String query, String passage) {
        return m3Scores(List.of(query), List.of(passage), Scores.M3_WEIGHTS, Options.defaults()).get(0);
    }

    /**
     * BGE-M3's compute_score of (query, passage) pairs with weights for [dense, sparse, colbert]: each
     * pair scored alone (M3Embedder.compute_score batches pairs, where zero padding rows can take part
     * in the ColBERT max).
     */
    public List<Scores.M3> m3Scores(List<String> queries, List<String> passages, double[] weights, Options options) {
        if (queries.size() != passages.size()) {
            throw new IllegalArgumentException(queries.size() + " queries and " + passages.size() + " passages");
        }
        for (Output o : Output.values()) {
            if (!supports(o)) {
                throw new IllegalArgumentException("BGE-M3 scores need the dense, sparse and ColBERT outputs; this model has "
                        + outputs());
            }
        }
        List<String> all = new ArrayList<>(queries);
        all.addAll(passages);
        List<MultiEmbedding> e = encode(all, options, EnumSet.allOf(Output.class));
        List<Scores.M3> out = new ArrayList<>(queries.size());
        for (int i = 0; i < queries.size(); i++) {
            out.add(Scores.m3(e.get(i), e.get(queries.size() + i), weights));
        }
        return out;
    }

    /**
     * Late chunking: the chunks of one document joined with a space and run as one text (through
     * overlapping windows when longer than the window), one vector per chunk from the hidden states of its
     * tokens ({@link LongDocuments}).
     */
    public List<float[]> lateChunking(List<String> chunks, Options options) {
        return lateChunkingAll(List.of(chunks), options).get(0);
    }

    /** {@link #lateChunking} of several documents, in their order. */
    public List<List<float[]>> lateChunkingAll(List<List<String>> documents, Options options) {
        if (st != null && st.splade() != null) {
            throw new IllegalArgumentException("this is a SPLADE (sparse) model: late chunking gives dense vectors");
        }
        return LongDocuments.lateChunking(this, documents, options);
    }

    /** The last hidden state of each text, one vector per token (special tokens included). */
    public List<float[][]> tokenEmbeddings(List<String> texts, Options options) {
        return tokenEmbeddingsPrepared(prepare(texts, options, true), options);
    }

    /**
     * A text ready for the model: prompt put before it, stripped and lower-cased as the folder says, and
     * tokenized once (cut at {@link #inputLimit()} when asked).
     *
     * @param encoding      the tokens the model runs
     * @param promptTokens  leading tokens left out of the pooling (the prompt, when the folder's Pooling
     *                      has include_prompt false), else 0
     * @param fullLength    the tokens before any cut (more than {@code encoding.length()} when cut)
     */
    public record Input(Encoding encoding, int promptTokens, int fullLength) {
        /** The tokens the model runs. */
        public int length() {
            return encoding.length();
        }
    }

    /**
     * Tokenizes texts as {@link #embedAll} does, with the prompt of the options ({@code promptName}, a
     * {@code prefix}, else the folder's default prompt). With {@code truncate}, inputs longer than
     * {@link #inputLimit()} are cut (one warning line); without, they are left whole ({@link Input#length()}
     * tells) and {@link #embedPrepared} refuses them.
     */
    public List<Input> prepare(List<String> texts, Options options, boolean truncate) {
        Prompt prompt = prompt(options);
        List<String> inputs = new ArrayList<>(texts.size());
        for (String t : texts) {
            String s = requireText(t, "text");
            if (prompt.text() != null) {
                s = prompt.text() + s;
            }
            if (st != null) {
                s = s.strip();
                if (st.lowerCase()) {
                    s = s.toLowerCase(Locale.ROOT);
                }
            }
            inputs.add(s);
        }
        List<Input> out = new ArrayList<>(inputs.size());
        if (truncate) {
            List<Integer> full = new ArrayList<>();
            List<Encoding> encs = encodeTruncating(inputs, null, EncodeOptions.Truncation.LONGEST_FIRST, inputLimit(),
                    full::add);
            for (int i = 0; i < encs.size(); i++) {
                out.add(new Input(encs.get(i), prompt.tokens(), full.get(i)));
            }
        } else {
            for (String s : inputs) {
                Encoding e = tokenizer.encode(s, null, EncodeOptions.defaults());
                out.add(new Input(e, prompt.tokens(), e.length()));
            }
        }
        return out;
    }

    /** Sentence embeddings of prepared inputs, in their order, with the pooling and normalisation of the options. */
    public List<float[]> embedPrepared(List<Input> inputs, Options options) {
        return encodePrepared(inputs, options, EnumSet.of(Output.DENSE)).stream().map(MultiEmbedding::dense).toList();
    }

    /** Several outputs of prepared inputs from one forward pass, in their order. */
    public List<MultiEmbedding> encodePrepared(List<Input> inputs, Options options, Set<Output> outputs) {
        if (outputs.isEmpty()) {
            throw new IllegalArgumentException("ask for at least one output");
        }
        boolean dense = outputs.contains(Output.DENSE);
        boolean sparse = outputs.contains(Output.SPARSE);
        boolean colbert = outputs.contains(Output.COLBERT);
        if (dense && options.pooling() == Pooling.NONE) {
            throw new IllegalArgumentException("pooling none gives token embeddings: use tokenEmbeddings");
        }
        for (Output o : outputs) {
            if (!supports(o)) {
                throw new IllegalArgumentException(switch (o) {
                    case DENSE -> "this is a SPLADE (sparse) model: ask for the sparse output";
                    case SPARSE -> "this model has no sparse output (a BGE-M3 " + M3Heads.SPARSE_FILE
                            + " or a SpladePooling module)";
                    case COLBERT -> "this model has no ColBERT output (a BGE-M3 " + M3Heads.COLBERT_FILE + ")";
                });
            }
        }
        boolean splade = sparse && st != null && st.splade() != null;
        if (splade && !encoder.config().head().equals(dev.xlmr.model.Head.MASKED_LM)) {
            throw new IllegalArgumentException("SPLADE needs the masked-LM head, but the model runs as "
                    + encoder.config().head().name().toLowerCase(Locale.ROOT));
        }
        Plan plan = dense ? plan(options) : null;
        if (options.longInputs() == LongInputs.WINDOWS) {
            for (Input in : inputs) {
                if (in.length() > inputLimit()) {
                    return LongDocuments.windowed(this, inputs, options, outputs);
                }
            }
        }
        List<MultiEmbedding> out = new ArrayList<>(Collections.nCopies(inputs.size(), null));
        run(inputs, (input, row) -> {
            float[][] hidden = null;
            float[] d = null;
            SparseEmbedding s = null;
            float[][] c = null;
            if (dense) {
                d = finishDense(pool(row, plan, inputs.get(input).promptTokens()), plan);
            }
            if (sparse) {
                if (splade) {
                    s = splade(row, st.splade());
                } else {
                    hidden = row.tokens("last_hidden_state");
                    s = m3.lexicalWeights(hidden, inputs.get(input).encoding().ids(), m3Unused);
                }
                s = s.topK(options.maxActiveDims());
            }
            if (colbert) {
                c = m3.colbertVectors(hidden != null ? hidden : row.tokens("last_hidden_state"), colbertKernels());
            }
            out.set(input, new MultiEmbedding(d, s, c));
        });
        return out;
    }

    /** A pooled vector through the folder's modules, the truncation to the dimensions and the final normalisation. */
    private static float[] finishDense(float[] d, Plan plan) {
        for (SentenceTransformers.Step step : plan.chain()) {
            d = step.apply(d);
        }
        if (plan.dimensions() > 0) {
            if (plan.dimensions() > d.length) {
                throw new IllegalArgumentException("dimensions " + plan.dimensions() + " is more than the "
                        + d.length + " of the embedding");
            }
            d = Arrays.copyOf(d, plan.dimensions());
        }
        if (plan.normalize()) {
            normalize(d);
        }
        return d;
    }

    /**
     * What one window gives before windows are combined: the pooled vector (before the folder's modules),
     * the tokens it pooled, the sparse vector (before top-k) and the last hidden states; each null when not asked.
     */
    record WindowPart(float[] pooled, int pooledTokens, SparseEmbedding sparse, float[][] hidden) {}

    /** The {@link WindowPart}s of inputs (windows of long texts, or whole short texts), in their order. */
    List<WindowPart> windowParts(List<Input> inputs, Options options, boolean dense, boolean sparse, boolean hidden) {
        Plan plan = dense ? plan(options) : null;
        boolean splade = sparse && spladeSparse();
        List<WindowPart> out = new ArrayList<>(Collections.nCopies(inputs.size(), null));
        run(inputs, (input, row) -> {
            Input in = inputs.get(input);
            float[] pooled = dense ? pool(row, plan, in.promptTokens()) : null;
            float[][] h = hidden || sparse && !splade ? row.tokens("last_hidden_state") : null;
            SparseEmbedding s = !sparse ? null
                    : splade ? splade(row, st.splade()) : m3.lexicalWeights(h, in.encoding().ids(), m3Unused);
            out.set(input, new WindowPart(pooled, row.length - Math.min(in.promptTokens(), row.length), s,
                    hidden ? h : null));
        });
        return out;
    }

    /**
     * Mean-pooled token vectors (late chunking) through the rest of the dense recipe of the options: the
     * folder's modules after its Pooling (under AUTO), the dimensions, the normalisation.
     */
    float[] finishChunk(float[] meanPooled, Options options) {
        if (options.pooling() != Pooling.AUTO && options.pooling() != Pooling.MEAN) {
            throw new IllegalArgumentException("late chunking mean-pools each chunk's tokens: use pooling auto or mean");
        }
        return finishDense(meanPooled, plan(options));
    }

    /** The dense recipe of the options after the pooling (windows). */
    float[] finishPooled(float[] pooled, Options options) {
        return finishDense(pooled, plan(options));
    }

    /** Whether the sparse output is SPLADE (else BGE-M3 lexical weights). */
    boolean spladeSparse() {
        return st != null && st.splade() != null;
    }

    /** Whether the sparse output pools with a maximum (BGE-M3 lexical weights; SpladePooling max). */
    boolean sparseTakesMax() {
        return !spladeSparse() || st.splade().max();
    }

    /** ColBERT vectors from a whole text's last hidden states (positions 1..n-1). */
    float[][] colbertOf(float[][] hidden) {
        return m3.colbertVectors(hidden, colbertKernels());
    }

    /** Leading tokens every window repeats: {@code <s>} and the prompt's tokens when there is a prompt. */
    int windowHeader(Options options) {
        Prompt p = prompt(options);
        return p.text() == null ? 1 : Math.max(1, tokenizer.encode(p.text(), null, EncodeOptions.defaults()).length() - 1);
    }

    /** Whether the folder lower-cases and strips its inputs (sentence-transformers). */
    boolean stripsInputs() {
        return st != null;
    }

    boolean lowerCases() {
        return st != null && st.lowerCase();
    }

    /** The prompt text of the options, or null. */
    String promptText(Options options) {
        return prompt(options).text();
    }

    /** The prompt tokens left out of the pooling under the options (0 when the prompt counts). */
    int promptTokens(Options options) {
        return prompt(options).tokens();
    }

    /** The ColBERT head packed for the fast engine's kernels (null on the reference encoder: plain loops). */
    private M3Heads.Fast colbertKernels() {
        M3Heads.Fast f = m3Fast;
        if (f == null && encoder instanceof FastEncoder fast) {
            synchronized (this) {
                f = m3Fast;
                if (f == null) {
                    m3Fast = f = m3.pack(fast.kernels());
                }
            }
        }
        return f;
    }

    /** SpladePooling over a row's masked-LM logits: max (or sum) over its tokens of log1p(relu(x)). */
    private static SparseEmbedding splade(Row row, SentenceTransformers.Splade p) {
        float[] data = row.out.get("logits").data();   // packed [tokens, vocab]: this row's tokens are contiguous
        int v = row.out.get("logits").dim(1);
        int first = row.out.start(row.index);
        float[] pooled = new float[v]; // every value is >= 0, so 0 starts the max as well as the sum
        for (int t = 0; t < row.length; t++) {
            int off = (first + t) * v;
            for (int j = 0; j < v; j++) {
                float x = data[off + j];
                if (x > 0) {
                    float y = (float) Math.log1p(x);
                    if (p.doubleLog()) {
                        y = (float) Math.log1p(y);
                    }
                    pooled[j] = p.max() ? Math.max(pooled[j], y) : pooled[j] + y;
                }
            }
        }
        return SparseEmbedding.fromDense(pooled);
    }

    /** Vocabulary-sized logits (a masked-LM head, e.g. SPLADE) bound the rows of a batch, as fill-mask does. */
    @Override
    int rowsPerBatch(int paddedLength) {
        if (encoder.config().head() != dev.xlmr.model.Head.MASKED_LM) {
            return batchSize();
        }
        long perRow = (long) paddedLength * encoder.config().vocabSize();
        return (int) Math.max(1, Math.min(batchSize(), (64L << 20) / Math.max(1, perRow)));
    }

    /** Token embeddings of prepared inputs (L2-normalised each with {@link Options#normalize}). */
    public List<float[][]> tokenEmbeddingsPrepared(List<Input> inputs, Options options) {
        List<float[][]> out = new ArrayList<>(Collections.nCopies(inputs.size(), null));
        run(inputs, (input, row) -> {
            float[][] t = row.tokens("last_hidden_state");
            if (options.normalize()) {
                for (float[] v : t) {
                    normalize(v);
                }
            }
            out.set(input, t);
        });
        return out;
    }

    /**
     * The last hidden states of the inputs padded to the longest of them, averaged over every position,
     * padding included: what the original DISCOVER xlm_roberta module gives its last batch. A text's
     * vector depends on the others, so the inputs run as one batch. On the fast engine the padded
     * positions come from {@link FastEncoder#paddedLastHiddenState}, elsewhere from the encoder's own
     * output there (the reference computes them as transformers does).
     */
    public List<float[]> paddedBatchMean(List<Input> inputs) {
        if (inputs.isEmpty()) {
            return List.of();
        }
        int n = inputs.size();
        int longest = 0;
        for (Input in : inputs) {
            longest = Math.max(longest, in.length());
        }
        if (longest > maxLength()) {
            throw new IllegalArgumentException("an input has " + longest + " tokens; the model takes at most " + maxLength());
        }
        int[][] ids = new int[n][longest];
        int[][] mask = new int[n][longest];
        for (int i = 0; i < n; i++) {
            int[] e = inputs.get(i).encoding().ids();
            Arrays.fill(ids[i], tokenizer.padId());
            System.arraycopy(e, 0, ids[i], 0, e.length);
            Arrays.fill(mask[i], 0, e.length, 1);
        }
        Batch batch = Batch.of(ids, mask, null);
        NdArray hidden = encoder instanceof FastEncoder fast ? fast.paddedLastHiddenState(batch)
                : encoder.forward(batch).get("last_hidden_state");
        float[] data = hidden.data();
        int h = hidden.dim(2);
        List<float[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            double[] sum = new double[h];
            for (int t = 0; t < longest; t++) {
                int off = (i * longest + t) * h;
                for (int d = 0; d < h; d++) {
                    sum[d] += data[off + d];
                }
            }
            float[] v = new float[h];
            for (int d = 0; d < h; d++) {
                v[d] = (float) (sum[d] / longest);
            }
            out.add(v);
        }
        return out;
    }

    /**
     * The longest input of sentence embeddings: {@link #maxLength()}, and at most sentence-transformers'
     * {@code max_seq_length}.
     */
    public int inputLimit() {
        int max = maxLength();
        return st != null && st.maxSeqLength() > 0 ? Math.min(max, st.maxSeqLength()) : max;
    }

    /** The pooling that {@link Pooling#AUTO} means here, lower case ("mean", "cls+mean", ...). */
    public String poolingName() {
        List<Pooling> modes = st != null ? st.modes() : List.of(Pooling.MEAN);
        return String.join("+", modes.stream().map(m -> m.name().toLowerCase(Locale.ROOT)).toList());
    }

    /** Cosine similarity of the sentence embeddings of two texts (default options). */
    public double similarity(String a, String b) {
        return similarity(a, b, Options.defaults());
    }

    /** Cosine similarity of the sentence embeddings of two texts. */
    public double similarity(String a, String b, Options options) {
        List<float[]> v = embedAll(List.of(a, b), options);
        return cosine(v.get(0), v.get(1));
    }

    /** Cosine similarity of two vectors (0 when one is zero). */
    public static double cosine(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("vectors of sizes " + a.length + " and " + b.length);
        }
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }

    // ---- internals --------------------------------------------------------------------------------

    /**
     * The recipe of one call: pooling modes, the folder's modules after the pooling, the truncation
     * (0: none) and a final normalisation.
     */
    private record Plan(List<Pooling> modes, List<SentenceTransformers.Step> chain, int dimensions, boolean normalize) {}

    /** A prompt's text (null: none) and the tokens of it to leave out of the pooling. */
    private record Prompt(String text, int tokens) {}

    private Prompt prompt(Options o) {
        String prompt = o.prefix();
        if (o.promptName() != null) {
            prompt = prompts().get(o.promptName());
            if (prompt == null) {
                throw new IllegalArgumentException("no prompt named '" + o.promptName() + "'"
                        + (prompts().isEmpty() ? " (the model has no prompts in config_sentence_transformers.json)"
                        : "; the model has " + prompts().keySet()));
            }
        } else if (prompt == null && st != null && st.defaultPromptName() != null) {
            prompt = st.prompts().get(st.defaultPromptName());
        }
        if (prompt == null || prompt.isEmpty()) {
            return new Prompt(null, 0); // sentence-transformers: an empty prompt is none
        }
        int tokens = 0;
        if (st != null && !st.includePrompt()) {
            // sentence-transformers: the prompt's tokens without the final </s>, <s> included
            tokens = tokenizer.encode(prompt, null, EncodeOptions.defaults()).length() - 1;
        }
        return new Prompt(prompt, tokens);
    }

    private Plan plan(Options o) {
        boolean follow = o.pooling() == Pooling.AUTO && st != null;
        if (follow && !st.unsupported().isEmpty()) {
            throw new IllegalArgumentException("the sentence-transformers modules " + st.unsupported()
                    + " are not supported; give an explicit pooling to use the encoder alone");
        }
        if (follow && st.splade() != null) {
            throw new IllegalArgumentException("this is a SPLADE (sparse) model: ask for the sparse output");
        }
        List<Pooling> modes = follow ? st.modes()
                : List.of(o.pooling() == Pooling.AUTO ? Pooling.MEAN : o.pooling());
        List<SentenceTransformers.Step> chain = follow ? st.chain() : List.of();
        // a chain ending in Normalize is normalised already, unless the truncation comes after it
        boolean normalized = !chain.isEmpty() && chain.get(chain.size() - 1) instanceof SentenceTransformers.Normalize
                && o.dimensions() == 0;
        return new Plan(modes, chain, o.dimensions(), o.normalize() && !normalized);
    }

    private void run(List<Input> inputs, RowHandler handler) {
        List<Encoding> encs = new ArrayList<>(inputs.size());
        for (Input in : inputs) {
            encs.add(in.encoding());
        }
        forEachRow(encs, handler);
    }

    private static float[] pool(Row row, Plan plan, int promptTokens) {
        int skip = Math.min(promptTokens, row.length);
        List<float[]> parts = new ArrayList<>();
        float[][] tokens = null;
        for (Pooling mode : plan.modes()) {
            if (mode == Pooling.POOLER) {
                if (!row.out.has("pooler_output")) {
                    throw new IllegalArgumentException("this model has no pooler; use mean (or another) pooling");
                }
                parts.add(row.get("pooler_output"));
                continue;
            }
            if (tokens == null) {
                tokens = row.tokens("last_hidden_state");
            }
            parts.add(poolTokens(tokens, skip, mode));
        }
        int size = parts.stream().mapToInt(a -> a.length).sum();
        float[] out = new float[size];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** sentence-transformers' Pooling over tokens {@code [skip, n)} (all of them count for CLS). */
    static float[] poolTokens(float[][] tokens, int skip, Pooling mode) {
        int n = tokens.length;
        int d = tokens[0].length;
        float[] out = new float[d];
        switch (mode) {
            case CLS -> System.arraycopy(tokens[0], 0, out, 0, d);
            case LAST_TOKEN -> System.arraycopy(tokens[n - 1], 0, out, 0, d);
            case MAX -> {
                Arrays.fill(out, n > skip ? Float.NEGATIVE_INFINITY : -1e9f);
                for (int t = skip; t < n; t++) {
                    for (int j = 0; j < d; j++) {
                        out[j] = Math.max(out[j], tokens[t][j]);
                    }
                }
            }
            case MEAN, MEAN_SQRT_LEN, WEIGHTED_MEAN -> {
                double[] sum = new double[d];
                double weight = 0;
                for (int t = skip; t < n; t++) {
                    double w = mode == Pooling.WEIGHTED_MEAN ? t + 1 : 1;
                    weight += w;
                    for (int j = 0; j < d; j++) {
                        sum[j] += w * tokens[t][j];
                    }
                }
                double div = mode == Pooling.MEAN_SQRT_LEN ? Math.sqrt(weight) : weight;
                div = Math.max(div, 1e-9);
                for (int j = 0; j < d; j++) {
                    out[j] = (float) (sum[j] / div);
                }
            }
            default -> throw new IllegalArgumentException("pooling " + mode + " does not pool tokens");
        }
        return out;
    }

    /** In-place L2 normalisation (as torch.nn.functional.normalize, eps 1e-12). */
    static void normalize(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        double norm = Math.max(Math.sqrt(s), 1e-12);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] / norm);
        }
    }
}
