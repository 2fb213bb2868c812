package dev.xlmr.engine;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API arithmetic whose bits do not depend on the JIT tier, for every kernel that must give one input the
 * same result whenever it runs (the engine's Vector API kernels, the training path's element-wise steps): lane sums, e^x and the
 * normal CDF of exact GELU.
 *
 * <p>Until C2 compiles a method, the Vector API runs it lane by lane in Java, and two of its operations then give
 * other bits than the compiled code: {@code reduceLanes(ADD)} (any order of the lanes' sums) and
 * {@code lanewise(EXP)} (Math.exp per lane, then a vector math library). Sums of lanes go through {@link #sum}
 * and exponentials through {@link #exp}, whose plain arithmetic is the same in every tier.
 *
 * <pre>{@code
 * FloatVector v = FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, 0);
 * float total = VectorMath.sum(VectorMath.exp(v));
 * }</pre>
 */
public final class VectorMath {
    private VectorMath() {}

    /** The lanes' sum, in lane order. */
    public static float sum(FloatVector v) {
        float s = v.lane(0);
        for (int i = 1, n = v.length(); i < n; i++) s += v.lane(i);
        return s;
    }

    private static final float EXP_HI = 88.72283f, EXP_LO = -87.33654f; // e^x overflows above; subnormal below
    private static final float LOG2E = 1.44269504f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float ROUNDER = 12582912f; // 1.5 * 2^23: adding it rounds to an integer (nearest even)
    // Cephes' expf polynomial for e^r on |r| <= ln2 / 2 (about 1 ulp)
    private static final float[] EXP_P = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
            1.6666665459e-1f, 5.0000001201e-1f};

    /**
     * e^x on one vector: 2^n e^r, n = round(x log2 e), r = x - n ln 2 (in two parts), e^r by a polynomial; 0 below
     * the smallest normal result (e^-87.34, where e^x is subnormal), +inf above the largest.
     */
    public static FloatVector exp(FloatVector x) {
        VectorSpecies<Float> sp = x.species();
        FloatVector c = x.max(EXP_LO).min(EXP_HI);
        FloatVector t = c.fma(LOG2E, ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(sp, -LN2_HI), c);
        r = n.fma(FloatVector.broadcast(sp, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(sp, EXP_P[0]);
        for (int i = 1; i < EXP_P.length; i++) p = p.fma(r, FloatVector.broadcast(sp, EXP_P[i]));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        // 2^n as two normal factors (n is in [-126, 128]; 2^128 is not a float)
        IntVector ni = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUNDER));
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1), n2 = ni.sub(n1);
        y = y.mul(n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                .mul(n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
        y = y.blend(0f, x.compare(VectorOperators.LT, EXP_LO));
        return y.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_HI));
    }

    private static final float INV_SQRT2 = 0.70710678f;
    // erf(t) = t * P(t^2) on [0, 2] and erfc(t) = exp(-t^2) / t * R(1/t) on [2, inf): least-squares fits
    // (relative error < 1e-8 before float rounding), made for this class.
    private static final float[] ERF_P = {-2.9495507632e-08f, 8.3658131623e-07f, -1.1747116671e-05f,
            1.1244870189e-04f, -8.4155807366e-04f, 5.2104561551e-03f, -2.6858154772e-02f, 1.1283548247e-01f,
            -3.7612610057e-01f, 1.1283791614e+00f};
    private static final float[] ERFC_R = {1.4337909579e-01f, 6.6884622694e-01f, -2.6934164236e+00f,
            3.5452887101e+00f, -2.0727413052e+00f, 1.7457065514e-01f, 4.0486182639e-01f, 1.1077544208e-03f,
            -2.8212916125e-01f, 4.1632293137e-07f, 5.6418958271e-01f};

    /**
     * The standard normal CDF {@code Phi(x) = 0.5 (1 + erf(x / sqrt 2))} on one vector (exact GELU is
     * {@code x Phi(x)}), with erfc for the far tails.
     */
    public static FloatVector normalCdf(FloatVector x) {
        VectorSpecies<Float> sp = x.species();
        FloatVector t = x.abs().mul(INV_SQRT2);
        FloatVector t2 = t.mul(t);
        FloatVector p = FloatVector.broadcast(sp, ERF_P[0]);
        for (int i = 1; i < ERF_P.length; i++) p = p.fma(t2, FloatVector.broadcast(sp, ERF_P[i]));
        FloatVector erf = p.mul(t).min(1f);                    // |erf(x / sqrt 2)| for t < 2
        VectorMask<Float> far = t.compare(VectorOperators.GE, 2f);
        if (far.anyTrue()) {
            FloatVector tf = t.max(2f).min(9f), u = FloatVector.broadcast(sp, 1f).div(tf);
            FloatVector r = FloatVector.broadcast(sp, ERFC_R[0]);
            for (int i = 1; i < ERFC_R.length; i++) r = r.fma(u, FloatVector.broadcast(sp, ERFC_R[i]));
            FloatVector erfc = r.mul(u).mul(exp(tf.mul(tf).neg()));
            erf = erf.blend(erfc.neg().add(1f), far);
        }
        // x >= 0: 0.5 (1 + erf); x < 0: 0.5 (1 - erf(|x| / sqrt 2))
        VectorMask<Float> neg = x.compare(VectorOperators.LT, 0f);
        return erf.blend(erf.neg(), neg).add(1f).mul(0.5f);
    }
}
