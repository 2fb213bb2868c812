package dev.xlmr.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Dropout masks (their statistics and seeding) and the backward of the ops under a fixed mask. */
class DropoutTest {
    private final Random rnd = new Random(11);

    @Test
    void maskKeepsOneMinusPOnAverageScaledToKeepTheMean() {
        int n = 200_000;
        for (double p : new double[] {0.1, 0.5, 0.9}) {
            double[] m = new Dropout(p, p, p, 3).mask(n, p);
            long zeros = Arrays.stream(m).filter(v -> v == 0).count();
            double keep = 1 / (1 - p);
            assertTrue(Arrays.stream(m).allMatch(v -> v == 0 || v == keep), "mask values are 0 or 1/(1-p)");
            double sigma = Math.sqrt(p * (1 - p) / n);
            assertEquals(p, (double) zeros / n, 5 * sigma, "fraction dropped at p = " + p);
            // E[mask] = 1 so the expected activation is the eval one
            assertEquals(1, Arrays.stream(m).average().orElseThrow(), 5 * sigma * keep);
            // neighbouring elements are independent: P(both dropped) = p^2
            long pairs = 0;
            for (int i = 0; i + 1 < n; i += 2) {
                pairs += m[i] == 0 && m[i + 1] == 0 ? 1 : 0;
            }
            assertEquals(p * p, pairs / (n / 2.0), 5 * Math.sqrt(p * p * (1 - p * p) / (n / 2.0)));
        }
    }

    @Test
    void sameSeedSameMasksOtherSeedOthers() {
        assertArrayEquals(new Dropout(0.1, 0.1, 0.1, 42).mask(1000, 0.1), new Dropout(0.1, 0.1, 0.1, 42).mask(1000, 0.1));
        assertFalse(Arrays.equals(new Dropout(0.1, 0.1, 0.1, 42).mask(1000, 0.1),
                new Dropout(0.1, 0.1, 0.1, 43).mask(1000, 0.1)));
        Dropout d = new Dropout(0.1, 0.1, 0.1, 42);
        assertFalse(Arrays.equals(d.mask(1000, 0.1), d.mask(1000, 0.1)), "successive masks differ");
        assertNull(d.mask(10, 0));
        assertArrayEquals(new double[5], d.mask(5, 1));
        assertThrows(IllegalArgumentException.class, () -> new Dropout(1.5, 0, 0, 1));
    }

    @Test
    void ratesFromConfigJson() throws Exception {
        ObjectMapper json = new ObjectMapper();
        Dropout d = Dropout.fromConfig(json.readTree("{\"hidden_dropout_prob\": 0.2, \"attention_probs_dropout_prob\": 0.3,"
                + " \"classifier_dropout\": null}"), 1);
        assertEquals(0.2, d.hidden());
        assertEquals(0.3, d.attention());
        assertEquals(0.2, d.classifier(), "a null classifier_dropout falls back to the hidden rate");
        assertEquals(0.05, Dropout.fromConfig(json.readTree("{\"classifier_dropout\": 0.05}"), 1).classifier());
    }

    @Test
    void backwardUnderAFixedMask() {
        Var x = GradCheck.random(rnd, 1, 5, 7);
        double[] mask = new Dropout(0.4, 0, 0, 9).mask(x.size(), 0.4);
        GradCheck.check("dropout", t -> Fn.dropout(t, x, mask), x);
        Tape t = new Tape();
        Var y = Fn.dropout(t, x, mask);
        for (int i = 0; i < x.size(); i++) {
            assertEquals(x.data[i] * mask[i], y.data[i]);
        }
        int batch = 2;
        int seq = 5;
        int heads = 3;
        Var q = GradCheck.random(rnd, 1, batch * seq, 9);
        Var k = GradCheck.random(rnd, 1, batch * seq, 9);
        Var v = GradCheck.random(rnd, 1, batch * seq, 9);
        int[][] pad = {{1, 1, 1, 0, 0}, {1, 1, 1, 1, 1}};
        double[] probMask = new Dropout(0, 0.3, 0, 5).mask(batch * heads * seq * seq, 0.3);
        GradCheck.check("attention dropout", t2 -> Fn.attention(t2, q, k, v, batch, seq, heads, pad, false, probMask), q, k, v);
        GradCheck.check("attention dropout causal", t2 -> Fn.attention(t2, q, k, v, batch, seq, heads, pad, true, probMask),
                q, k, v);
        // an all-ones mask is no dropout
        double[] ones = new double[batch * heads * seq * seq];
        Arrays.fill(ones, 1);
        assertArrayEquals(Fn.attention(new Tape(), q, k, v, batch, seq, heads, pad, false).data,
                Fn.attention(new Tape(), q, k, v, batch, seq, heads, pad, false, ones).data);
    }
}
