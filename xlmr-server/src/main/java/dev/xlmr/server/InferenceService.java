package dev.xlmr.server;

import java.util.List;
import java.util.Map;

/**
 * What the HTTP endpoints need from a model: embeddings, classification, tokens. {@link LocalInferenceService}
 * implements it over the tokenizer and the reference model; a pipelines-based implementation can replace
 * it without touching the server.
 *
 * <p>Implementations are called from one batching thread for the model work ({@link #embed},
 * {@link #embedAll}, {@link #classify}, {@link #rerank}) and from many request threads for the cheap
 * tokenizer work ({@link #countTokens}, {@link #tokenize}, {@link #decode}), so those must be thread-safe.
 * Invalid input is an {@link IllegalArgumentException} with a message for the client.
 *
 * <pre>{@code
 * try (InferenceService s = LocalInferenceService.load(Path.of("testdata/xlmr-base"), "xlmr-base", 0)) {
 *     float[][] v = s.embed(List.of("Hello world"), Pooling.DEFAULT, true, false);
 *     List<List<Token>> tokens = s.tokenize(List.of("Hello world"), true);
 * }
 * }</pre>
 */
public interface InferenceService extends AutoCloseable {

    /** How token vectors become one sentence vector. */
    enum Pooling {
        /** The model's own choice: sentence-transformers' Pooling module, else the pooler output, else mean. */
        DEFAULT,
        /** The hidden state of the first token ({@code <s>}). */
        CLS,
        /** Mean over the tokens (not over padding). */
        MEAN,
        /** Element-wise maximum over the tokens. */
        MAX,
        /** Sum over the tokens divided by the square root of their number. */
        MEAN_SQRT_LEN,
        /** The model's pooler output: tanh(dense(first token)). */
        POOLER,
        /**
         * The mean of last_hidden_state over the whole batch padded to its longest text, padding included:
         * what the original DISCOVER xlm_roberta module computes for its last batch. The result of a text
         * depends on the other texts of the call, so such calls are never merged with others.
         */
        PADDED_BATCH_MEAN
    }

    /** What kind of model is served, as text-embeddings-inference reports it in {@code /info}. */
    enum ModelKind { EMBEDDING, CLASSIFIER, RERANKER }

    /**
     * The served model.
     *
     * @param modelId        the name or folder it was loaded from
     * @param kind           embedding, classifier (several labels) or reranker (one label)
     * @param pooling        the default pooling of embeddings, lower case ("mean", "cls", "pooler", ...)
     * @param hiddenSize     width of token and sentence vectors
     * @param maxInputLength longest input in tokens, special tokens included
     * @param id2label       label names by index (classifiers)
     */
    record ModelInfo(String modelId, ModelKind kind, String pooling, int hiddenSize, int maxInputLength,
                     Map<Integer, String> id2label) {
        public ModelInfo {
            id2label = Map.copyOf(id2label);
        }
    }

    /**
     * One token as text-embeddings-inference's {@code /tokenize} reports it.
     *
     * @param id      token id
     * @param text    the covered text, or the token itself for special tokens
     * @param special whether it is an added special token
     * @param start   first code point in the input, null for special tokens
     * @param stop    end code point (exclusive), null for special tokens
     */
    record Token(int id, String text, boolean special, Integer start, Integer stop) {}

    /**
     * A class and its score.
     *
     * @param label the label name
     * @param score softmax probability (sigmoid for one label), or the raw logit
     */
    record Prediction(String label, float score) {}

    /** The served model. */
    ModelInfo info();

    /**
     * Tokens of a text (or pair) with special tokens and without truncation; used to check lengths and to
     * size batches before the model runs.
     *
     * @param pair second text, or null
     */
    int countTokens(String text, String pair);

    /**
     * One sentence vector per text.
     *
     * @param normalize scale to unit L2 norm
     * @param truncate  cut inputs longer than {@link ModelInfo#maxInputLength()} instead of failing
     * @throws UnsupportedOperationException when the model is not an embedding model
     */
    float[][] embed(List<String> texts, Pooling pooling, boolean normalize, boolean truncate);

    /** Every token's last hidden state: {@code [text][token][hidden]}, special tokens included. */
    float[][][] embedAll(List<String> texts, boolean truncate);

    /**
     * Class scores of texts or text pairs, best first.
     *
     * @param pairs     second texts ({@code pairs.get(i)} may be null), or null
     * @param rawScores the logits instead of softmax (sigmoid for a one-label model)
     * @throws UnsupportedOperationException when the model is not a sequence classifier
     */
    List<List<Prediction>> classify(List<String> texts, List<String> pairs, boolean truncate, boolean rawScores);

    /**
     * Relevance of each text to the query: the sigmoid (or the raw logit) of a one-label cross-encoder on
     * (query, text), in the order of {@code texts}.
     *
     * @throws UnsupportedOperationException when the model is not a one-label sequence classifier
     */
    float[] rerank(String query, List<String> texts, boolean truncate, boolean rawScores);

    /** Tokens of each text, as {@code /tokenize} reports them. */
    List<List<Token>> tokenize(List<String> texts, boolean addSpecialTokens);

    /**
     * Text of token ids.
     *
     * @throws IllegalArgumentException for ids outside the vocabulary
     */
    String decode(int[] ids, boolean skipSpecialTokens);

    /** Releases the model. */
    @Override
    void close();
}
