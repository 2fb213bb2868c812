package dev.xlmr.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * The Vector API kernels' own e^x and lane sum (used instead of lanewise(EXP) and reduceLanes(ADD), which give
 * other bits before and after C2 compiles them) against Math.exp and a plain loop.
 */
class VectorMathTest {
    static final int L = VectorKernels.S.length();

    static float[] exp(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i += L) {
            VectorKernels.exp(FloatVector.fromArray(VectorKernels.S, x, i, VectorKernels.S.indexInRange(i, x.length)))
                    .intoArray(y, i, VectorKernels.S.indexInRange(i, x.length));
        }
        return y;
    }

    @Test
    void expIsWithinTwoUlpsOfMathExp() {
        int n = 400_003;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -110f + 210f * i / (n - 1);
        float[] got = exp(x);
        for (int i = 0; i < n; i++) {
            double want = Math.exp(x[i]);
            if (want < Float.MIN_NORMAL) {
                assertTrue(got[i] == 0f || Math.abs(got[i] - want) <= 2 * Math.ulp((float) want), x[i] + ": " + got[i]);
            } else if (want > Float.MAX_VALUE) {
                assertEquals(Float.POSITIVE_INFINITY, got[i], "e^" + x[i]);
            } else {
                assertTrue(Math.abs(got[i] - want) <= 2 * Math.ulp((float) want),
                        "e^" + x[i] + " want " + want + " got " + got[i]);
            }
        }
        float[] special = exp(new float[] {0f, -0f, 1f, -1f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN,
                88.72283f, -87.33654f, 88.7f, -87.3f});
        assertEquals(1f, special[0]);
        assertEquals(1f, special[1]);
        assertEquals((float) Math.E, special[2], Math.ulp((float) Math.E));
        assertEquals((float) (1 / Math.E), special[3], Math.ulp(0.36787945f));
        assertEquals(0f, special[4]);
        assertEquals(Float.POSITIVE_INFINITY, special[5]);
        assertTrue(Float.isNaN(special[6]));
        assertTrue(Float.isFinite(special[7]) && special[7] > 3.4e38f, "e^88.72283 = " + special[7]);
        assertTrue(special[8] > 0f, "e^-87.33654 = " + special[8]);
        assertEquals(Math.exp(88.7f), special[9], 2 * Math.ulp(special[9]));
        assertEquals(Math.exp(-87.3f), special[10], 2 * Math.ulp(special[10]));
    }

    @Test
    void sumAddsTheLanesInOrder() {
        java.util.Random r = new java.util.Random(3);
        for (int t = 0; t < 1000; t++) {
            float[] v = new float[L];
            for (int i = 0; i < L; i++) v[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(12) - 6));
            float want = v[0];
            for (int i = 1; i < L; i++) want += v[i];
            assertEquals(Float.floatToRawIntBits(want),
                    Float.floatToRawIntBits(VectorKernels.sum(FloatVector.fromArray(VectorKernels.S, v, 0))));
        }
    }
}
