package dev.xlmr.enginebench;

/** Mean pooling and cosine similarity, shared by both engines so that they are measured alike. */
final class Pooling {
    private Pooling() {}

    /** Mean over {@code tokens} rows of width {@code h} starting at {@code off}. */
    static float[] mean(float[] hidden, int off, int tokens, int h) {
        float[] out = new float[h];
        for (int t = 0; t < tokens; t++) {
            int o = off + t * h;
            for (int j = 0; j < h; j++) {
                out[j] += hidden[o + j];
            }
        }
        float inv = 1f / Math.max(1, tokens);
        for (int j = 0; j < h; j++) {
            out[j] *= inv;
        }
        return out;
    }

    static double cosine(float[] a, float[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb + 1e-300);
    }

    /** {min, mean} of the per-sentence cosines of two embedding sets. */
    static double[] cosines(float[][] want, float[][] got) {
        double min = 1, sum = 0;
        for (int i = 0; i < want.length; i++) {
            double c = cosine(want[i], got[i]);
            min = Math.min(min, c);
            sum += c;
        }
        return new double[] {min, sum / want.length};
    }
}
