package dev.xlmr.server;

import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import java.util.List;
import java.util.Map;

/**
 * What the HTTP endpoints need from a model: embeddings, classification, tokens. {@link LocalInferenceService}
 * implements it over the pipelines' inference core ({@link dev.xlmr.pipelines.ModelSession}); tests plug in fakes.
 *
 * <p>Texts are tokenized once, on the request threads ({@link #prepare}, {@link #preparePairs}); the model work
 * ({@link #embed}, {@link #embedAll}, {@link #paddedBatchMean}, {@link #classify}, {@link #rerank}) runs on one
 * batching thread over inputs that several requests may have prepared, so prepare, {@link #tokenize} and
 * {@link #decode} must be thread-safe. Invalid input is an {@link IllegalArgumentException} with a message for
 * the client.
 *
 * <pre>{@code
 * try (InferenceService s = LocalInferenceService.load(Path.of("testdata/xlmr-base"), "xlmr-base", 0)) {
 *     float[][] v = s.embed(s.prepare(List.of("Hello world"), null, false), Pooling.AUTO, true);
 *     List<List<Token>> tokens = s.tokenize(List.of("Hello world"), true);
 * }
 * }</pre>
 */
public interface InferenceService extends AutoCloseable {

    /** What kind of model is served, as text-embeddings-inference reports it in {@code /info}. */
    enum ModelKind { EMBEDDING, CLASSIFIER, RERANKER }

    /**
     * The served model.
     *
     * @param modelId        the name or folder it was loaded from
     * @param kind           embedding, classifier (several labels) or reranker (one label)
     * @param pooling        the default pooling of embeddings, lower case ("mean", "cls", "cls+mean", ...)
     * @param hiddenSize     width of token vectors
     * @param maxInputLength longest input in tokens, special tokens included
     * @param id2label       label names by index (classifiers)
     */
    record ModelInfo(String modelId, ModelKind kind, String pooling, int hiddenSize, int maxInputLength,
                     Map<Integer, String> id2label) {
        public ModelInfo {
            id2label = Map.copyOf(id2label);
        }
    }

    /** A text or pair tokenized for the model, by {@link #prepare} or {@link #preparePairs} of the same service. */
    interface Input {
        /** Tokens the model runs (after any cut). */
        int tokens();

        /** Tokens before any cut. */
        int fullTokens();
    }

    /**
     * One token as text-embeddings-inference's {@code /tokenize} reports it.
     *
     * @param id      token id
     * @param text    the covered text, or the token itself for special tokens
     * @param special whether it is an added special token
     * @param start   first UTF-8 byte in the input (as TEI reports it), null for special tokens
     * @param stop    end UTF-8 byte (exclusive), null for special tokens
     */
    record Token(int id, String text, boolean special, Integer start, Integer stop) {}

    /**
     * A class and its score.
     *
     * @param label the label name
     * @param score the pipeline's score (softmax, or sigmoid for one label), or the raw logit
     */
    record Prediction(String label, float score) {}

    /**
     * One input of the embedding routes: a text, or token ids that the model runs as given (no special
     * tokens added), as text-embeddings-inference takes them.
     *
     * @param text a text, or null
     * @param ids  token ids, or null
     */
    record EmbedInput(String text, int[] ids) {
        public EmbedInput {
            if ((text == null) == (ids == null)) throw new IllegalArgumentException("give a text or token ids");
        }

        public static EmbedInput of(String text) {
            return new EmbedInput(text, null);
        }

        public static EmbedInput of(int... ids) {
            return new EmbedInput(null, ids);
        }

        /** What TEI counts for {@code x-compute-characters}: code points of a text, or the number of ids. */
        public int characters() {
            return text != null ? text.codePointCount(0, text.length()) : ids.length;
        }
    }

    /** The served model. */
    ModelInfo info();

    /**
     * Prepares texts and token-id inputs for embeddings. Ids run as given, unless a prompt applies: then, as
     * TEI does, they are decoded (special tokens skipped) and tokenized again after the prompt.
     *
     * @param truncate     cut inputs longer than {@link ModelInfo#maxInputLength()}
     * @param truncateLeft cut from the start instead of the end (TEI's {@code truncation_direction: Left}):
     *                     {@code <s>} and {@code </s>} stay, the last tokens of the text are kept
     * @throws IllegalArgumentException for an unknown prompt name or an id outside the vocabulary
     * @throws UnsupportedOperationException when this service cannot take ids or cut from the left
     */
    default List<Input> prepare(List<EmbedInput> inputs, String promptName, boolean truncate, boolean truncateLeft) {
        if (truncate && truncateLeft) throw new UnsupportedOperationException("this model cannot truncate from the left");
        List<String> texts = new java.util.ArrayList<>(inputs.size());
        for (EmbedInput in : inputs) {
            if (in.text() == null) throw new UnsupportedOperationException("this model takes no token ids as inputs");
            texts.add(in.text());
        }
        return prepare(texts, promptName, truncate);
    }

    /**
     * The pipeline behind a task route ({@code fill-mask}, {@code ner}, {@code qa}, {@code zero-shot}) on the
     * served encoder; the caller runs it on the model thread.
     *
     * @throws UnsupportedOperationException when the served model cannot do the task
     */
    default dev.xlmr.pipelines.Pipeline taskPipeline(String task) {
        throw new UnsupportedOperationException("this server answers no " + task + " requests");
    }

    /**
     * Tokenizes texts for embeddings as the embedding pipeline does: the prompt {@code promptName} (null: the
     * folder's default prompt, if any; "": no prompt) before each, stripped and lower-cased as the folder says.
     *
     * @param truncate cut inputs longer than {@link ModelInfo#maxInputLength()}; else they stay whole
     *                 ({@link Input#tokens()} tells) and the model work refuses them
     * @throws IllegalArgumentException for an unknown prompt name
     */
    List<Input> prepare(List<String> texts, String promptName, boolean truncate);

    /** Tokenizes texts with their pairs ({@code pairs} or an entry may be null) for classification and re-ranking. */
    List<Input> preparePairs(List<String> texts, List<String> pairs, boolean truncate);

    /**
     * One sentence vector per input.
     *
     * @param pooling   {@link Pooling#AUTO}: the folder's sentence-transformers modules, else mean
     * @param normalize scale to unit L2 norm (on top of a folder's Normalize module under AUTO)
     * @throws UnsupportedOperationException when the model is not an embedding model
     */
    float[][] embed(List<Input> inputs, Pooling pooling, boolean normalize);

    /** Every token's last hidden state: {@code [input][token][hidden]}, special tokens included. */
    float[][][] embedAll(List<Input> inputs);

    /**
     * One sparse vector per input (TEI's {@code /embed_sparse}): SPLADE vectors of a SparseEncoder folder, or
     * BGE-M3 lexical weights.
     *
     * @throws UnsupportedOperationException when the model gives no sparse vectors
     */
    default List<dev.xlmr.pipelines.SparseEmbedding> embedSparse(List<Input> inputs) {
        throw new UnsupportedOperationException("the model gives no sparse vectors (a SPLADE or BGE-M3 model does)");
    }

    /**
     * Several outputs per input ({@link dev.xlmr.pipelines.EmbeddingPipeline#encodePrepared}); with
     * {@code windows}, inputs longer than the window run through overlapping windows of {@code overlap}
     * shared tokens (-1: a quarter of the window), see {@link dev.xlmr.pipelines.LongDocuments}.
     *
     * @param normalize  L2-normalise the dense output (on top of a folder's Normalize module)
     * @param promptName the prompt the inputs were prepared with (windows repeat its tokens), as {@link #prepare}
     * @throws UnsupportedOperationException when the model gives not all of the outputs
     */
    default List<dev.xlmr.pipelines.MultiEmbedding> encode(List<Input> inputs,
            java.util.Set<dev.xlmr.pipelines.EmbeddingPipeline.Output> outputs, boolean normalize, boolean windows,
            int overlap, String promptName) {
        throw new UnsupportedOperationException("this server gives no such embeddings");
    }

    /**
     * Late chunking: the chunks of each document joined and run as one text, one vector per chunk
     * ({@link dev.xlmr.pipelines.EmbeddingPipeline#lateChunkingAll}).
     *
     * @param promptName a prompt name, "" for none, null for the default
     */
    default List<List<float[]>> lateChunking(List<List<String>> documents, String promptName, boolean normalize,
                                             int overlap) {
        throw new UnsupportedOperationException("this server does no late chunking");
    }

    /**
     * The mean of last_hidden_state over the inputs padded to the longest, padding included: what the original
     * DISCOVER xlm_roberta module computes for its last batch. A vector depends on the other inputs, so such
     * calls are never merged with others.
     */
    float[][] paddedBatchMean(List<Input> inputs);

    /**
     * Class scores of prepared texts or pairs, best first.
     *
     * @param rawScores the logits instead of the pipeline's scores
     * @throws UnsupportedOperationException when the model is not a sequence classifier
     */
    List<List<Prediction>> classify(List<Input> inputs, boolean rawScores);

    /**
     * Relevance of prepared (query, text) pairs: the sigmoid (or the raw logit) of a one-label cross-encoder.
     *
     * @throws UnsupportedOperationException when the model is not a one-label sequence classifier
     */
    float[] rerank(List<Input> pairs, boolean rawScores);

    /** Tokens of each text, as {@code /tokenize} reports them. */
    List<List<Token>> tokenize(List<String> texts, boolean addSpecialTokens);

    /**
     * Text of token ids.
     *
     * @throws IllegalArgumentException for ids outside the vocabulary
     */
    String decode(int[] ids, boolean skipSpecialTokens);

    /**
     * Convenience for callers outside the batcher: prepares and embeds at once.
     *
     * @throws IllegalArgumentException when an input is too long and {@code truncate} is false
     */
    default float[][] embed(List<String> texts, Pooling pooling, boolean normalize, boolean truncate) {
        return embed(checked(prepare(texts, null, truncate)), pooling, normalize);
    }

    /** Convenience: token embeddings of texts. */
    default float[][][] embedAll(List<String> texts, boolean truncate) {
        return embedAll(checked(prepare(texts, null, truncate)));
    }

    /** Convenience: class scores of texts or pairs. */
    default List<List<Prediction>> classify(List<String> texts, List<String> pairs, boolean truncate, boolean rawScores) {
        return classify(checked(preparePairs(texts, pairs, truncate)), rawScores);
    }

    /** Convenience: relevance of each text to the query. */
    default float[] rerank(String query, List<String> texts, boolean truncate, boolean rawScores) {
        return rerank(checked(preparePairs(java.util.Collections.nCopies(texts.size(), query), texts, truncate)), rawScores);
    }

    /** Inputs within {@link ModelInfo#maxInputLength()}, or an IllegalArgumentException naming the first that is not. */
    default List<Input> checked(List<Input> inputs) {
        int max = info().maxInputLength();
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i).tokens() > max) {
                throw new IllegalArgumentException("input " + i + " has " + inputs.get(i).tokens()
                        + " tokens, more than the maximum of " + max + " (set truncate to cut it)");
            }
        }
        return inputs;
    }

    /** Releases the model. */
    @Override
    void close();
}
