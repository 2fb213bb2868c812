package dev.xlmr.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/** Finite-difference (float64, central) checks of backward functions. */
final class GradCheck {
    private GradCheck() {}

    static Var random(Random rnd, double scale, int... shape) {
        Var v = new Var(shape);
        for (int i = 0; i < v.size(); i++) {
            v.data[i] = scale * rnd.nextGaussian();
        }
        return v;
    }

    /** {@code sum(w * y)} as a scalar op, so a non-scalar output can be checked with random weights. */
    static Var weightedSum(Tape t, Var y, double[] w) {
        Var out = new Var(1);
        for (int i = 0; i < y.size(); i++) {
            out.data[0] += w[i] * y.data[i];
        }
        t.record(() -> {
            for (int i = 0; i < y.size(); i++) {
                y.grad[i] += w[i] * out.grad[0];
            }
        });
        return out;
    }

    /**
     * Checks d f / d input for every element of every input against central differences with step
     * 1e-6: |analytic - numeric| <= 1e-6 * max(1, |numeric|). Non-scalar outputs are reduced with
     * random weights.
     */
    static void check(String what, Function<Tape, Var> f, Var... inputs) {
        check(what, f, (k, i) -> false, inputs);
    }

    /** As above, but elements where {@code skip(input, element)} holds must have a zero analytic gradient instead. */
    static void check(String what, Function<Tape, Var> f, java.util.function.BiPredicate<Integer, Integer> skip,
                      Var... inputs) {
        Random rnd = new Random(what.hashCode());
        double[][] weights = new double[1][];
        Function<Tape, Var> loss = t -> {
            Var y = f.apply(t);
            if (y.size() == 1) {
                return y;
            }
            if (weights[0] == null) {
                weights[0] = new double[y.size()];
                for (int i = 0; i < y.size(); i++) {
                    weights[0][i] = rnd.nextGaussian();
                }
            }
            return weightedSum(t, y, weights[0]);
        };
        for (Var v : inputs) {
            v.zeroGrad();
        }
        Tape t = new Tape();
        Var l = loss.apply(t);
        t.backward(l);
        List<String> bad = new ArrayList<>();
        int checked = 0;
        double h = 1e-6;
        for (int k = 0; k < inputs.length; k++) {
            Var v = inputs[k];
            double[] analytic = v.grad.clone();
            for (int i = 0; i < v.size(); i++) {
                if (skip.test(k, i)) {
                    if (analytic[i] != 0) {
                        bad.add("input " + k + "[" + i + "]: analytic " + analytic[i] + " where none is expected");
                    }
                    continue;
                }
                double x0 = v.data[i];
                v.data[i] = x0 + h;
                double plus = loss.apply(new Tape()).item();
                v.data[i] = x0 - h;
                double minus = loss.apply(new Tape()).item();
                v.data[i] = x0;
                double numeric = (plus - minus) / (2 * h);
                checked++;
                if (!(Math.abs(analytic[i] - numeric) <= 1e-6 * Math.max(1, Math.abs(numeric)))) {
                    bad.add("input " + k + "[" + i + "]: analytic " + analytic[i] + ", numeric " + numeric);
                }
            }
        }
        assertTrue(checked > 0, what + ": nothing checked");
        assertTrue(bad.isEmpty(), what + ": " + bad.size() + " of " + checked + " gradients differ:\n"
                + String.join("\n", bad.subList(0, Math.min(10, bad.size()))));
    }
}
