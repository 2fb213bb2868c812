package dev.xlmr.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * torch.optim.AdamW (decoupled weight decay, bias-corrected moments, {@code eps} added after the
 * square root), with Trainer's rule that parameters whose name contains one of {@code noDecay}
 * ("bias", "LayerNorm.weight") get no weight decay.
 *
 * <pre>{@code
 * AdamW opt = new AdamW(params.all(), 0.9, 0.999, 1e-8, 0.01, List.of("bias", "LayerNorm.weight"));
 * opt.step(lr); // after backward (and clipping)
 * }</pre>
 */
public final class AdamW {
    private final Map<String, Var> params;
    private final Map<String, double[]> m = new LinkedHashMap<>();
    private final Map<String, double[]> v = new LinkedHashMap<>();
    private final Map<String, Double> decay = new LinkedHashMap<>();
    private final double beta1;
    private final double beta2;
    private final double eps;
    private int step;

    public AdamW(Map<String, Var> params, double beta1, double beta2, double eps, double weightDecay,
                 List<String> noDecay) {
        this.params = new LinkedHashMap<>(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        for (Map.Entry<String, Var> e : params.entrySet()) {
            m.put(e.getKey(), new double[e.getValue().size()]);
            v.put(e.getKey(), new double[e.getValue().size()]);
            boolean excluded = noDecay.stream().anyMatch(e.getKey()::contains);
            decay.put(e.getKey(), excluded ? 0.0 : weightDecay);
        }
    }

    /** The weight decay a parameter gets. */
    public double weightDecay(String name) {
        return decay.get(name);
    }

    /** The first moment (exp_avg) of a parameter, live: writes change the optimizer's state. */
    public double[] expAvg(String name) {
        return m.get(name);
    }

    /** The second moment (exp_avg_sq) of a parameter, live. */
    public double[] expAvgSq(String name) {
        return v.get(name);
    }

    /** Sets the number of steps taken (resuming a run: the bias corrections depend on it). */
    public void setSteps(int steps) {
        step = steps;
    }

    /** The number of steps taken. */
    public int steps() {
        return step;
    }

    /** One update of every parameter from its gradient with learning rate {@code lr}. */
    public void step(double lr) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        double stepSize = lr / bc1;
        for (Map.Entry<String, Var> e : params.entrySet()) {
            Var p = e.getValue();
            double[] mm = m.get(e.getKey());
            double[] vv = v.get(e.getKey());
            double wd = decay.get(e.getKey());
            for (int i = 0; i < p.size(); i++) {
                double g = p.grad[i];
                p.data[i] *= 1 - lr * wd;
                mm[i] = beta1 * mm[i] + (1 - beta1) * g;
                vv[i] = beta2 * vv[i] + (1 - beta2) * g * g;
                p.data[i] -= stepSize * mm[i] / (Math.sqrt(vv[i]) / bc2Sqrt + eps);
            }
        }
    }

    /**
     * torch.nn.utils.clip_grad_norm_ over all parameters: returns the global L2 norm of the
     * gradients before clipping and scales them by {@code maxNorm / (norm + 1e-6)} when that is below 1.
     */
    public static double clipGradNorm(Iterable<Var> params, double maxNorm) {
        double sq = 0;
        for (Var p : params) {
            for (double g : p.grad) {
                sq += g * g;
            }
        }
        double norm = Math.sqrt(sq);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1) {
            for (Var p : params) {
                for (int i = 0; i < p.grad.length; i++) {
                    p.grad[i] *= coef;
                }
            }
        }
        return norm;
    }
}
