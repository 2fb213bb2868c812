package dev.xlmr.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.engine.KernelProvider;
import dev.xlmr.engine.Kernels;
import dev.xlmr.model.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fp32 matmul path against the float64 reference ({@link Fn}) on odd sizes, for every kernel
 * provider available here: values and every gradient within fp32 rounding.
 */
class Fp32Test {
    private final Random rnd = new Random(23);

    static List<Kernels> providers() {
        List<Kernels> ks = new ArrayList<>();
        for (String n : KernelProvider.NAMES) {
            if (KernelProvider.isAvailable(n)) {
                ks.add(KernelProvider.create(n, 2));
            }
        }
        assertTrue(ks.size() >= 1);
        return ks;
    }

    /** |a - b| <= tol * max(1, max|b|) element-wise. */
    static void close(double[] expected, double[] actual, double tol, String what) {
        double scale = 1;
        for (double v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol * scale, what + "[" + i + "]");
        }
    }

    @Test
    void linearMatchesTheReference() {
        for (Kernels k : providers()) {
            for (int[] size : new int[][] {{1, 13, 5}, {7, 13, 5}, {37, 19, 23}}) {
                Var x = GradCheck.random(rnd, 1, size[0], size[1]);
                Var w = GradCheck.random(rnd, 1, size[2], size[1]);
                Var b = GradCheck.random(rnd, 1, size[2]);
                double[] wts = new double[size[0] * size[2]];
                for (int i = 0; i < wts.length; i++) {
                    wts[i] = rnd.nextGaussian();
                }
                double[][] ref = run(t -> Fn.linear(t, x, w, b), wts, x, w, b);
                double[][] got = run(t -> Fp32Linear.linear(t, x, w, b, k), wts, x, w, b);
                for (int i = 0; i < ref.length; i++) {
                    close(ref[i], got[i], 1e-5, k.name() + " linear " + java.util.Arrays.toString(size) + " output " + i);
                }
            }
            k.close();
        }
    }

    @Test
    void attentionMatchesTheReference() {
        for (Kernels k : providers()) {
            for (int seq : new int[] {1, 3, 17}) {
                int batch = 2;
                int heads = 3;
                int hidden = 3 * 13;
                Var q = GradCheck.random(rnd, 1, batch * seq, hidden);
                Var kk = GradCheck.random(rnd, 1, batch * seq, hidden);
                Var v = GradCheck.random(rnd, 1, batch * seq, hidden);
                int[][] pad = new int[batch][seq];
                for (int j = 0; j < seq; j++) {
                    pad[0][j] = 1;
                    pad[1][j] = j < (seq + 1) / 2 ? 1 : 0;
                }
                int[][] left = new int[batch][seq]; // causal with left padding: the first query has no key
                for (int j = 0; j < seq; j++) {
                    left[0][j] = j == 0 && seq > 1 ? 0 : 1;
                    left[1][j] = 1;
                }
                double[] drop = new Dropout(0, 0.3, 0, 4).mask(batch * heads * seq * seq, 0.3);
                double[] wts = new double[batch * seq * hidden];
                for (int i = 0; i < wts.length; i++) {
                    wts[i] = rnd.nextGaussian();
                }
                Object[][] cases = {{null, false, null}, {pad, false, null}, {pad, true, null}, {left, true, null},
                        {pad, false, drop}};
                for (Object[] c : cases) {
                    int[][] m = (int[][]) c[0];
                    boolean causal = (boolean) c[1];
                    double[] pm = (double[]) c[2];
                    double[][] ref = run(t -> Fn.attention(t, q, kk, v, batch, seq, heads, m, causal, pm), wts, q, kk, v);
                    double[][] got = run(t -> Fp32Attention.attention(t, q, kk, v, batch, seq, heads, m, causal, pm, k), wts, q, kk, v);
                    for (int i = 0; i < ref.length; i++) {
                        close(ref[i], got[i], 2e-5, k.name() + " attention seq " + seq + " causal " + causal + " output " + i);
                    }
                }
            }
            k.close();
        }
    }

    @Test
    void wholeModelLossAndGradientsMatchTheReference() {
        String json = """
                {"model_type": "xlm-roberta", "architectures": ["XLMRobertaForSequenceClassification"], "vocab_size": 13,
                 "hidden_size": 6, "num_hidden_layers": 2, "num_attention_heads": 3, "intermediate_size": 7,
                 "max_position_embeddings": 9, "type_vocab_size": 2, "pad_token_id": 1, "layer_norm_eps": 1e-5, "num_labels": 3}
                """;
        ModelConfig config = ModelConfig.parse(json, "test config");
        Kernels k = KernelProvider.create(null, 2);
        Parameters params = ModelGradTest.randomParameters(config, 3, new Random(5));
        TrainBatch batch = ModelGradTest.batch(config, 3, "single_label_classification", new Random(6));
        TrainableModel ref = new TrainableModel(config, params, "single_label_classification");
        params.zeroGrad();
        Tape t = new Tape();
        Var l1 = ref.loss(t, batch, new Dropout(0.2, 0.2, 0.2, 3));
        t.backward(l1);
        List<double[]> g1 = params.all().values().stream().map(v -> v.grad.clone()).toList();
        params.zeroGrad();
        TrainableModel fast = new TrainableModel(config, params, "single_label_classification").withKernels(k);
        Tape t2 = new Tape();
        Var l2 = fast.loss(t2, batch, new Dropout(0.2, 0.2, 0.2, 3));
        t2.backward(l2);
        assertEquals(l1.item(), l2.item(), 1e-5 * Math.max(1, Math.abs(l1.item())));
        int i = 0;
        for (Var v : params.all().values()) {
            close(g1.get(i++), v.grad, 1e-4, "grad of a parameter");
        }
    }

    private static double[][] run(java.util.function.Function<Tape, Var> f, double[] wts, Var... inputs) {
        for (Var v : inputs) {
            v.zeroGrad();
        }
        Tape t = new Tape();
        Var y = f.apply(t);
        t.backward(GradCheck.weightedSum(t, y, wts));
        double[][] out = new double[inputs.length + 1][];
        out[0] = y.data.clone();
        for (int i = 0; i < inputs.length; i++) {
            out[i + 1] = inputs[i].grad.clone();
        }
        return out;
    }
}
