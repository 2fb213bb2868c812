package dev.xlmr.pipelines;

/**
 * The functions that turn logits into scores, and the scores of embeddings (BGE-M3's dense, lexical
 * matching and ColBERT scores as FlagEmbedding computes them), shared by the pipelines and the server.
 *
 * <pre>{@code
 * double[] p = Scores.softmax(new float[] {1f, 2f, 3f});   // 0.090, 0.245, 0.665
 * double s = Scores.sigmoid(0.0);                           // 0.5
 * Scores.M3 m3 = Scores.m3(query, passage, Scores.M3_WEIGHTS); // query, passage: MultiEmbedding
 * m3.colbertSparseDense();
 * }</pre>
 */
public final class Scores {
    private Scores() {}

    /** Softmax (max subtracted first, so large logits do not overflow). */
    public static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** The logistic function. */
    public static double sigmoid(double x) {
        return 1.0 / (1.0 + Math.exp(-x));
    }

    /** M3Embedder.compute_score's default weights for [dense, sparse, colbert]. */
    public static final double[] M3_WEIGHTS = {1, 1, 1};

    /** The dot product (in double). */
    public static double dot(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("vectors of sizes " + a.length + " and " + b.length);
        }
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    /** FlagEmbedding's compute_lexical_matching_score: the sum of the products of the shared ids' weights. */
    public static double lexicalMatching(SparseEmbedding query, SparseEmbedding passage) {
        return query.dot(passage);
    }

    /**
     * FlagEmbedding's colbert_score: the mean over the query vectors of their largest dot product with a
     * passage vector (0 for an empty query; a query vector scores 0 against an empty passage).
     */
    public static double colbert(float[][] query, float[][] passage) {
        if (query.length == 0) {
            return 0;
        }
        double sum = 0;
        for (float[] q : query) {
            double best = passage.length == 0 ? 0 : Double.NEGATIVE_INFINITY;
            for (float[] p : passage) {
                best = Math.max(best, dot(q, p));
            }
            sum += best;
        }
        return sum / query.length;
    }

    /**
     * The scores of M3Embedder.compute_score for one pair.
     *
     * @param dense              q · p of the dense vectors
     * @param sparse             the lexical matching score
     * @param colbert            the ColBERT max-sim score
     * @param sparseDense        (sparse w1 + dense w0) / (w0 + w1)
     * @param colbertSparseDense (colbert w2 + sparse w1 + dense w0) / (w0 + w1 + w2)
     */
    public record M3(double dense, double sparse, double colbert, double sparseDense, double colbertSparseDense) {
        /** compute_score's keys: colbert, sparse, dense, sparse+dense, colbert+sparse+dense. */
        public java.util.Map<String, Double> toMap() {
            java.util.Map<String, Double> m = new java.util.LinkedHashMap<>();
            m.put("colbert", colbert);
            m.put("sparse", sparse);
            m.put("dense", dense);
            m.put("sparse+dense", sparseDense);
            m.put("colbert+sparse+dense", colbertSparseDense);
            return m;
        }
    }

    /**
     * M3Embedder.compute_score of a (query, passage) pair, with weights for [dense, sparse, colbert]
     * ({@link #M3_WEIGHTS}); both need all three outputs.
     */
    public static M3 m3(MultiEmbedding query, MultiEmbedding passage, double[] weights) {
        if (weights.length != 3) {
            throw new IllegalArgumentException("give 3 weights (dense, sparse, colbert), got " + weights.length);
        }
        for (MultiEmbedding e : new MultiEmbedding[] {query, passage}) {
            if (e.dense() == null || e.sparse() == null || e.colbert() == null) {
                throw new IllegalArgumentException("BGE-M3 scores need the dense, sparse and ColBERT outputs");
            }
        }
        double d = dot(query.dense(), passage.dense());
        double s = lexicalMatching(query.sparse(), passage.sparse());
        double c = colbert(query.colbert(), passage.colbert());
        return new M3(d, s, c, (s * weights[1] + d * weights[0]) / (weights[0] + weights[1]),
                (c * weights[2] + s * weights[1] + d * weights[0]) / (weights[0] + weights[1] + weights[2]));
    }
}
