package dev.xlmr.pipelines;

import dev.xlmr.model.Encoder;
import dev.xlmr.model.Head;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reranking with a cross-encoder (a sequence-classification model on (query, text) pairs), as
 * sentence-transformers' {@code CrossEncoder.rank}: the score of a pair is the sigmoid of its logit
 * for a model with one label, or the softmax probability of the last label for two labels.
 *
 * <pre>{@code
 * try (RerankPipeline rr = RerankPipeline.load("BAAI/bge-reranker-v2-m3")) {
 *     List<RerankPipeline.Ranked> r = rr.rerank("where is the file?",
 *             List.of("The file is in the home directory.", "Bonjour."));
 *     r.get(0).corpusId();   // 0
 * }
 * }</pre>
 *
 * Pairs longer than the model allows are truncated (longest first) with a warning.
 */
public final class RerankPipeline extends Pipeline {

    /**
     * A text with its relevance.
     *
     * @param corpusId its index among the texts given
     * @param score    relevance in [0, 1]
     * @param text     the text
     */
    public record Ranked(int corpusId, double score, String text) {
        /** JSON object as sentence-transformers' rank(return_documents=True): corpus_id, score, text. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("corpus_id", corpusId);
            m.put("score", score);
            m.put("text", text);
            return m;
        }
    }

    /** A pipeline on a cross-encoder (left open by {@link #close()}). */
    public RerankPipeline(Encoder encoder, XlmRobertaTokenizer tokenizer) {
        this(source(encoder, tokenizer));
    }

    private RerankPipeline(Source s) {
        super(s);
        requireHead(Head.SEQUENCE_CLASSIFICATION);
        if (config().numLabels() > 2) {
            throw new IllegalArgumentException("reranking needs a cross-encoder with 1 or 2 labels; this model has "
                    + config().numLabels());
        }
    }

    /** Loads a model folder or hub id (revision {@code main}). */
    public static RerankPipeline load(String modelOrPath) {
        return load(modelOrPath, null);
    }

    /** Loads a model folder or hub id at a revision. */
    public static RerankPipeline load(String modelOrPath, String revision) {
        return build(modelOrPath, revision, RerankPipeline::new);
    }

    /** The relevance of each text to the query, in the order of the texts. */
    public double[] scores(String query, List<String> texts) {
        requireText(query, "query");
        if (texts == null || texts.isEmpty()) {
            throw new IllegalArgumentException("at least one text to rank is needed");
        }
        List<Encoding> encs = encodeTruncating(Collections.nCopies(texts.size(), query), texts,
                EncodeOptions.Truncation.LONGEST_FIRST, maxLength());
        double[] out = new double[texts.size()];
        forEachRow(encs, (i, row) -> {
            float[] logits = row.get("logits");
            out[i] = logits.length == 1 ? sigmoid(logits[0]) : softmax(logits)[logits.length - 1];
        });
        return out;
    }

    /** The texts ranked by relevance to the query, best first; at most {@code topK}. */
    public List<Ranked> rerank(String query, List<String> texts, int topK) {
        checkTopK(topK);
        double[] s = scores(query, texts);
        List<Ranked> r = new ArrayList<>();
        for (int i = 0; i < s.length; i++) {
            r.add(new Ranked(i, s[i], texts.get(i)));
        }
        r.sort(Comparator.comparingDouble(Ranked::score).reversed());
        return List.copyOf(r.subList(0, Math.min(topK, r.size())));
    }

    /** All texts ranked by relevance to the query, best first. */
    public List<Ranked> rerank(String query, List<String> texts) {
        return rerank(query, texts, Integer.MAX_VALUE);
    }
}
