package dev.xlmr.engine;

import java.util.Random;

final class TestData {
    private TestData() {}

    static float[] gaussian(Random r, int n, double sd) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * sd);
        return a;
    }

    static float[] abs(float[] a) {
        float[] b = new float[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Math.abs(a[i]);
        return b;
    }

    /** |got - want| <= rel * scale + abs, element-wise, where scale is e.g. |x| |W|^T (the error's natural size). */
    static void assertClose(float[] want, float[] got, float[] scale, double rel, double abs, int n, String what) {
        for (int i = 0; i < n; i++) {
            double tol = rel * (scale == null ? Math.abs(want[i]) : scale[i]) + abs;
            if (!(Math.abs(want[i] - got[i]) <= tol))
                throw new AssertionError(what + ": at " + i + " want " + want[i] + " got " + got[i] + " (tol " + tol + ")");
        }
    }

    static double cosine(float[] a, float[] b, int n) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < n; i++) { ab += (double) a[i] * b[i]; aa += (double) a[i] * a[i]; bb += (double) b[i] * b[i]; }
        return ab / Math.sqrt(aa * bb);
    }
}
