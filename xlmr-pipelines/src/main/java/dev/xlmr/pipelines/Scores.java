package dev.xlmr.pipelines;

/**
 * The functions that turn logits into scores, shared by the pipelines and the server.
 *
 * <pre>{@code
 * double[] p = Scores.softmax(new float[] {1f, 2f, 3f});   // 0.090, 0.245, 0.665
 * double s = Scores.sigmoid(0.0);                           // 0.5
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
}
