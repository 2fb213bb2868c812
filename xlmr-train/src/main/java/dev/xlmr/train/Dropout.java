package dev.xlmr.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.SplittableRandom;

/**
 * Train-mode dropout as transformers applies it (torch.nn.Dropout: each element kept with
 * probability {@code 1 - p} and scaled by {@code 1 / (1 - p)}), drawn from a seeded generator so a
 * run repeats exactly. Three rates as in config.json: {@code hidden_dropout_prob} (embeddings and
 * every sublayer output), {@code attention_probs_dropout_prob} (the attention probabilities) and
 * {@code classifier_dropout} (the heads; the hidden rate when null). Pass {@code null} instead of a
 * Dropout for eval arithmetic, as the replays of reference runs do.
 *
 * <pre>{@code
 * Dropout d = new Dropout(0.1, 0.1, 0.1, 42);
 * Var loss = model.loss(tape, batch, d);
 * }</pre>
 */
public final class Dropout {
    private final double hidden;
    private final double attention;
    private final double classifier;
    private final SplittableRandom rng;

    public Dropout(double hidden, double attention, double classifier, long seed) {
        for (double p : new double[] {hidden, attention, classifier}) {
            if (!(p >= 0 && p <= 1)) {
                throw new IllegalArgumentException("dropout rates must lie in [0, 1], got " + p);
            }
        }
        this.hidden = hidden;
        this.attention = attention;
        this.classifier = classifier;
        this.rng = new SplittableRandom(seed);
    }

    /** The rates of a config.json (transformers' defaults 0.1 where absent). */
    public static Dropout fromConfig(JsonNode config, long seed) {
        double hidden = config.path("hidden_dropout_prob").asDouble(0.1);
        JsonNode cls = config.get("classifier_dropout");
        return new Dropout(hidden, config.path("attention_probs_dropout_prob").asDouble(0.1),
                cls == null || cls.isNull() ? hidden : cls.asDouble(), seed);
    }

    public double hidden() {
        return hidden;
    }

    public double attention() {
        return attention;
    }

    public double classifier() {
        return classifier;
    }

    /**
     * A mask of {@code n} factors, each 0 with probability {@code p} and {@code 1 / (1 - p)}
     * otherwise; null when {@code p == 0} (nothing dropped).
     */
    public double[] mask(int n, double p) {
        if (p == 0) {
            return null;
        }
        double[] m = new double[n];
        if (p == 1) {
            return m; // torch zeroes everything at p = 1
        }
        double keep = 1 / (1 - p);
        for (int i = 0; i < n; i++) {
            m[i] = rng.nextDouble() < p ? 0 : keep;
        }
        return m;
    }

    /** {@link #mask} as fp32 factors, for the fp32 path ({@link FastModel}); null when {@code p == 0}. */
    public float[] floatMask(int n, double p) {
        if (p == 0) {
            return null;
        }
        float[] m = new float[n];
        if (p == 1) {
            return m;
        }
        float keep = (float) (1 / (1 - p));
        for (int i = 0; i < n; i++) {
            m[i] = rng.nextDouble() < p ? 0 : keep;
        }
        return m;
    }

    /** Applies the hidden rate to {@code x} (no-op on a null Dropout). */
    static Var hidden(Tape t, Var x, Dropout d) {
        return d == null ? x : Fn.dropout(t, x, d.mask(x.size(), d.hidden));
    }

    /** Applies the classifier rate to {@code x} (no-op on a null Dropout). */
    static Var classifier(Tape t, Var x, Dropout d) {
        return d == null ? x : Fn.dropout(t, x, d.mask(x.size(), d.classifier));
    }

    /** The mask of the attention probabilities [batch * heads * seq * seq], or null. */
    static double[] attention(Dropout d, int n) {
        return d == null ? null : d.mask(n, d.attention);
    }
}
