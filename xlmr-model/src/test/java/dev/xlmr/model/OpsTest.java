package dev.xlmr.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The numerical building blocks. */
class OpsTest {
    /** erf to full double precision (values from Abramowitz & Stegun table 7.1 / high-precision references). */
    @Test
    void erfMatchesKnownValues() {
        double[][] known = {
            {0.0, 0.0},
            {1e-10, 1.1283791670955126e-10},
            {0.1, 0.1124629160182849},
            {-0.3, -0.3286267594591274},
            {0.5, 0.5204998778130465},
            {1.0, 0.8427007929497149},
            {1.5, 0.9661051464753108},
            {2.0, 0.9953222650189527},
            {3.0, 0.9999779095030014},
            {4.0, 0.9999999845827421},
            {4.5, 0.9999999998033839},
            {5.0, 0.9999999999984626},
            {-5.0, -0.9999999999984626},
            {6.0, 1.0},
            {30.0, 1.0},
            {-30.0, -1.0},
        };
        for (double[] k : known) {
            assertEquals(k[1], Ops.erf(k[0]), Math.max(1e-15, Math.abs(k[1]) * 2e-16), "erf(" + k[0] + ")");
        }
        // erfc tail, where relative accuracy matters for the split exp
        assertEquals(1.5374597944280351e-12, Ops.erfcPositive(5.0), 1e-26);
        assertEquals(2.2090496998585438e-05, Ops.erfcPositive(3.0), 1e-19);
        assertEquals(Double.NaN, Ops.erf(Double.NaN));
    }

    @Test
    void geluAndOtherActivations() {
        assertEquals(0.8413447460685429, Ops.gelu(1.0), 1e-15);
        assertEquals(-0.15865525393145707, Ops.gelu(-1.0), 1e-15);
        assertEquals(0.0, Ops.gelu(0.0));
        assertEquals(0.8411919906082768, Activation.GELU_TANH.apply(1.0), 1e-15);
        assertEquals(0.7310585786300049, Activation.SILU.apply(1.0), 1e-15);
        assertEquals(0.0, Activation.RELU.apply(-2.0));
    }

    @Test
    void linearLayerNormSoftmax() {
        Tensor w = Tensor.of("w", new int[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6});
        Tensor b = Tensor.of("b", new int[] {2}, new float[] {0.5f, -1});
        float[] y = Ops.linear(new float[] {1, 0, -1, 2, 2, 2}, 2, w, b);
        assertEquals(-1.5f, y[0]);
        assertEquals(-3f, y[1]);
        assertEquals(12.5f, y[2]);
        assertEquals(29f, y[3]);
        Tensor ones = Tensor.of("g", new int[] {2}, new float[] {1, 1});
        Tensor zeros = Tensor.of("z", new int[] {2}, new float[] {0, 0});
        float[] n = Ops.layerNorm(new float[] {1, 3}, 1, ones, zeros, 0);
        assertEquals(-1f, n[0], 1e-7);
        assertEquals(1f, n[1], 1e-7);
        double[] p = {1, 1, -Float.MAX_VALUE};
        Ops.softmax(p, 0, 3);
        assertEquals(0.5, p[0]);
        assertEquals(0.0, p[2]);
    }
}
