package dev.xlmr.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ErfTest {
    /** x, erf(x), erfc(x) from mpmath at 30 digits. */
    private static final double[][] TABLE = {
            {1e-08, 1.1283791670955126e-08, 0.9999999887162083},
            {0.001, 0.0011283787909692365, 0.9988716212090307},
            {0.1, 0.1124629160182849, 0.887537083981715},
            {0.3, 0.3286267594591274, 0.6713732405408726},
            {0.5, 0.5204998778130465, 0.4795001221869535},
            {0.8, 0.7421009647076605, 0.2578990352923395},
            {1, 0.8427007929497149, 0.15729920705028513},
            {1.5, 0.9661051464753108, 0.033894853524689274},
            {2, 0.9953222650189527, 0.004677734981047266},
            {2.5, 0.999593047982555, 0.0004069520174449589},
            {3, 0.9999779095030014, 2.209049699858544e-05},
            {3.5, 0.9999992569016276, 7.430983723414128e-07},
            {4, 0.9999999845827421, 1.541725790028002e-08},
            {4.5, 0.9999999998033839, 1.9661604415428876e-10},
            {5, 0.9999999999984626, 1.537459794428035e-12},
            {5.5, 0.9999999999999927, 7.357847917974398e-15},
            {6, 1.0, 2.1519736712498913e-17},
            {7, 1.0, 4.183825607779414e-23},
    };

    @Test
    void erfAndErfcMatchHighPrecisionValues() {
        for (double[] t : TABLE) {
            assertEquals(t[1], Erf.erf(t[0]), Math.abs(t[1]) * 1e-12, "erf " + t[0]);
            assertEquals(-t[1], Erf.erf(-t[0]), Math.abs(t[1]) * 1e-12, "erf -" + t[0]);
            assertEquals(t[2], Erf.erfc(t[0]), t[2] * 1e-10, "erfc " + t[0]);
            assertEquals(2 - t[2], Erf.erfc(-t[0]), 1e-15, "erfc -" + t[0]);
            // the contract: 1e-7 relative after rounding to float
            assertTrue(Math.abs((float) Erf.erf(t[0]) - t[1]) <= 1e-7 * Math.abs(t[1]));
        }
        assertEquals(0.0, Erf.erf(0.0));
        assertEquals(1.0, Erf.erf(Double.POSITIVE_INFINITY));
        assertEquals(-1.0, Erf.erf(Double.NEGATIVE_INFINITY));
        assertTrue(Double.isNaN(Erf.erf(Double.NaN)));
    }

    @Test
    void erfIsContinuousAcrossBranchPoint() {
        for (double x = 2.9; x < 3.1; x += 1e-3) {
            double d = (Erf.erf(x + 1e-6) - Erf.erf(x)) / 1e-6;
            double expect = 2 / Math.sqrt(Math.PI) * Math.exp(-x * x);
            assertEquals(expect, d, expect * 1e-3, "derivative at " + x);
        }
    }

    @Test
    void geluKnownValues() {
        assertEquals(0.0, Erf.gelu(0));
        assertEquals(0.8413447460685429, Erf.gelu(1), 1e-15);
        assertEquals(-0.15865525393145707, Erf.gelu(-1), 1e-15);
        assertEquals(1.9544997361036416, Erf.gelu(2), 1e-15);
        // tail: -5 * Phi(-5) = -5 * 2.866515718791939e-07
        assertEquals(-1.4332578593959695e-06, Erf.gelu(-5), 1e-18);
    }
}
