package dev.xlmr.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Finite-difference checks of every op's backward, on odd sizes. */
class FnGradTest {
    private final Random rnd = new Random(7);

    @Test
    void linear() {
        Var x = GradCheck.random(rnd, 1, 3, 5, 7);
        Var w = GradCheck.random(rnd, 1, 9, 7);
        Var b = GradCheck.random(rnd, 1, 9);
        GradCheck.check("linear", t -> Fn.linear(t, x, w, b), x, w, b);
        GradCheck.check("linear without bias", t -> Fn.linear(t, x, w, null), x, w);
    }

    @Test
    void embeddingAndPaddingRow() {
        Var w = GradCheck.random(rnd, 1, 11, 5);
        int[] ids = {3, 0, 10, 3, 7, 2, 9};
        GradCheck.check("embedding", t -> Fn.embedding(t, w, ids, -1), w);
        // with padding_idx the row gets no gradient even though it is used (torch.nn.Embedding)
        w.zeroGrad();
        Tape t = new Tape();
        t.backward(Fn.sum(t, Fn.embedding(t, w, new int[] {1, 4, 1}, 1)));
        for (int i = 0; i < 5; i++) {
            assertEquals(0, w.grad[5 + i]);
            assertEquals(1, w.grad[20 + i]);
        }
    }

    @Test
    void addScaleSum() {
        Var a = GradCheck.random(rnd, 1, 3, 7);
        Var b = GradCheck.random(rnd, 1, 3, 7);
        GradCheck.check("add", t -> Fn.add(t, a, b), a, b);
        GradCheck.check("scale", t -> Fn.scale(t, a, -1.7), a);
        GradCheck.check("sum", t -> Fn.sum(t, a), a);
    }

    @Test
    void layerNorm() {
        Var x = GradCheck.random(rnd, 2, 5, 9);
        Var g = GradCheck.random(rnd, 1, 9);
        Var b = GradCheck.random(rnd, 1, 9);
        GradCheck.check("layerNorm", t -> Fn.layerNorm(t, x, g, b, 1e-5), x, g, b);
    }

    @Test
    void geluAndTanh() {
        Var x = GradCheck.random(rnd, 2, 7, 3);
        GradCheck.check("gelu", t -> Fn.gelu(t, x), x);
        GradCheck.check("tanh", t -> Fn.tanh(t, x), x);
    }

    @Test
    void attentionWithPaddingAndCausalMasks() {
        int batch = 3;
        int seq = 5;
        int hidden = 9;
        Var q = GradCheck.random(rnd, 1, batch * seq, hidden);
        Var k = GradCheck.random(rnd, 1, batch * seq, hidden);
        Var v = GradCheck.random(rnd, 1, batch * seq, hidden);
        int[][] mask = {{1, 1, 1, 0, 0}, {1, 1, 1, 1, 1}, {1, 0, 1, 1, 0}};
        GradCheck.check("attention", t -> Fn.attention(t, q, k, v, batch, seq, 3, null, false), q, k, v);
        GradCheck.check("attention masked", t -> Fn.attention(t, q, k, v, batch, seq, 3, mask, false), q, k, v);
        GradCheck.check("attention causal", t -> Fn.attention(t, q, k, v, batch, seq, 3, mask, true), q, k, v);
        // a query with no allowed key (left padding under a causal mask) averages every value
        int[][] left = {{0, 1, 1, 1, 1}, {1, 1, 1, 1, 1}, {0, 0, 1, 1, 1}};
        GradCheck.check("attention no key", t -> Fn.attention(t, q, k, v, batch, seq, 3, left, true), q, k, v);
    }

    @Test
    void rowsAndColumn() {
        Var x = GradCheck.random(rnd, 1, 7, 5);
        GradCheck.check("rows", t -> Fn.rows(t, x, new int[] {0, 6, 3, 0}), x);
        GradCheck.check("column", t -> Fn.column(t, x, 3), x);
    }

    @Test
    void losses() {
        Var logits = GradCheck.random(rnd, 2, 7, 5);
        int[] labels = {4, -100, 0, 2, 2, -100, 1};
        GradCheck.check("crossEntropy", t -> Fn.crossEntropy(t, logits, labels, -100), logits);
        double[] targets = new double[35];
        double[] real = new double[35];
        for (int i = 0; i < targets.length; i++) {
            targets[i] = rnd.nextInt(2);
            real[i] = rnd.nextGaussian();
        }
        GradCheck.check("bceWithLogits", t -> Fn.bceWithLogits(t, logits, targets), logits);
        GradCheck.check("mse", t -> Fn.mse(t, logits, real), logits);
    }

    @Test
    void crossEntropyValue() {
        // log(1 + 2e^1 ... ) by hand: logits [0, 1, 2], label 2 -> log(e^0 + e^1 + e^2) - 2
        Var x = Var.of(new int[] {1, 3}, 0, 1, 2);
        double expected = Math.log(1 + Math.E + Math.E * Math.E) - 2;
        assertEquals(expected, Fn.crossEntropy(new Tape(), x, new int[] {2}, -100).item(), 1e-15);
    }
}
