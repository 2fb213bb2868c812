package dev.xlmr.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link AdamW} for the fp32 path: torch.optim.AdamW's arithmetic in fp32 (as PyTorch runs it on
 * fp32 parameters) on {@link FVar}s, fp32 moments (so parameters, gradients and the two moments
 * take 16 bytes per parameter), vectorised and split over the cores. Trainer's no-decay rule by name.
 *
 * <pre>{@code
 * FastAdamW opt = new FastAdamW(model.parameters(), 0.9, 0.999, 1e-8, 0.01, List.of("bias", "LayerNorm.weight"));
 * double norm = FastAdamW.clipGradNorm(model.parameters().values(), 1.0);
 * opt.step(5e-5);
 * }</pre>
 */
public final class FastAdamW {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int GRAIN = 1 << 16;

    private final Map<String, FVar> params;
    private final Map<String, float[]> m = new LinkedHashMap<>();
    private final Map<String, float[]> v = new LinkedHashMap<>();
    private final Map<String, Double> decay = new LinkedHashMap<>();
    private final double beta1;
    private final double beta2;
    private final double eps;
    private int step;

    public FastAdamW(Map<String, FVar> params, double beta1, double beta2, double eps, double weightDecay,
                     List<String> noDecay) {
        this.params = new LinkedHashMap<>(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        for (Map.Entry<String, FVar> e : params.entrySet()) {
            m.put(e.getKey(), new float[e.getValue().size()]);
            v.put(e.getKey(), new float[e.getValue().size()]);
            boolean excluded = noDecay.stream().anyMatch(e.getKey()::contains);
            decay.put(e.getKey(), excluded ? 0.0 : weightDecay);
        }
    }

    public double weightDecay(String name) {
        return decay.get(name);
    }

    /** The first moment of a parameter, live. */
    public float[] expAvg(String name) {
        return m.get(name);
    }

    /** The second moment of a parameter, live. */
    public float[] expAvgSq(String name) {
        return v.get(name);
    }

    public void setSteps(int steps) {
        step = steps;
    }

    public int steps() {
        return step;
    }

    /** One update of every parameter from its gradient (none yet: a zero gradient) with learning rate {@code lr}. */
    public void step(double lr) {
        step++;
        float b1 = (float) beta1;
        float b2 = (float) beta2;
        float c1 = (float) (1 - beta1);
        float c2 = (float) (1 - beta2);
        float stepSize = (float) (lr / (1 - Math.pow(beta1, step)));
        float bc2Sqrt = (float) Math.sqrt(1 - Math.pow(beta2, step));
        float e = (float) eps;
        for (Map.Entry<String, FVar> en : params.entrySet()) {
            FVar p = en.getValue();
            float[] w = p.data;
            float[] g = p.grad();
            float[] mm = m.get(en.getKey());
            float[] vv = v.get(en.getKey());
            float shrink = (float) (1 - lr * decay.get(en.getKey()));
            Par.range(w.length, GRAIN, (part, from, to) -> {
                int i = from;
                for (; i <= to - L; i += L) {
                    FloatVector gi = FloatVector.fromArray(S, g, i);
                    FloatVector mi = FloatVector.fromArray(S, mm, i).mul(b1).add(gi.mul(c1));
                    FloatVector vi = FloatVector.fromArray(S, vv, i).mul(b2).add(gi.mul(gi).mul(c2));
                    FloatVector denom = vi.lanewise(VectorOperators.SQRT).div(bc2Sqrt).add(e);
                    FloatVector wi = FloatVector.fromArray(S, w, i).mul(shrink);
                    wi.sub(mi.mul(stepSize).div(denom)).intoArray(w, i);
                    mi.intoArray(mm, i);
                    vi.intoArray(vv, i);
                }
                for (; i < to; i++) {
                    float gi = g[i];
                    mm[i] = b1 * mm[i] + c1 * gi;
                    vv[i] = b2 * vv[i] + c2 * (gi * gi);
                    w[i] = w[i] * shrink - stepSize * mm[i] / ((float) Math.sqrt(vv[i]) / bc2Sqrt + e);
                }
            });
        }
    }

    /**
     * torch.nn.utils.clip_grad_norm_: the global L2 norm of the gradients (accumulated in float64)
     * before clipping; scales them by {@code maxNorm / (norm + 1e-6)} when that is below 1.
     */
    public static double clipGradNorm(Iterable<FVar> params, double maxNorm) {
        double sq = 0;
        for (FVar p : params) {
            float[] g = p.grad();
            int parts = Par.parts(g.length, GRAIN);
            double[] partial = new double[parts];
            Par.range(g.length, GRAIN, (part, from, to) -> {
                double s = 0;
                int i = from;
                for (; i <= to - 8 * L; ) {
                    FloatVector acc = FloatVector.zero(S);
                    for (int k = 0; k < 8; k++, i += L) { // short fp32 runs, summed in float64
                        FloatVector x = FloatVector.fromArray(S, g, i);
                        acc = x.fma(x, acc);
                    }
                    s += acc.reduceLanes(VectorOperators.ADD);
                }
                for (; i < to; i++) {
                    s += (double) g[i] * g[i];
                }
                partial[part] = s;
            });
            for (double s : partial) {
                sq += s;
            }
        }
        double norm = Math.sqrt(sq);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1) {
            float c = (float) coef;
            for (FVar p : params) {
                float[] g = p.grad();
                Par.range(g.length, GRAIN, (part, from, to) -> {
                    int i = from;
                    for (; i <= to - L; i += L) {
                        FloatVector.fromArray(S, g, i).mul(c).intoArray(g, i);
                    }
                    for (; i < to; i++) {
                        g[i] *= c;
                    }
                });
            }
        }
        return norm;
    }
}
