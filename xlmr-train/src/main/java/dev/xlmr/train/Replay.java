package dev.xlmr.train;

import dev.xlmr.model.ModelConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs exactly the steps of a {@link TrainSpec} on a model folder, as transformers' Trainer does
 * them: forward with labels, loss, backward, clip_grad_norm_, AdamW step, schedule step, zero the
 * gradients. With gradient accumulation each batch's loss is divided by the number of batches of
 * the step before its backward.
 *
 * <pre>{@code
 * Replay.Result r = Replay.run(Path.of("case"), TrainSpec.load(Path.of("case/train.json")));
 * double firstLoss = r.losses()[0];
 * }</pre>
 */
public final class Replay {
    private Replay() {}

    /**
     * What a replay gives.
     *
     * @param losses per step, the mean loss over its batches
     * @param gradNorms per step, the global gradient norm before clipping
     * @param lrs per step, the learning rate used
     * @param gradsStep1 the gradients of the first step before clipping, by parameter name
     * @param finalParams the parameters after the last step, by name
     */
    public record Result(double[] losses, double[] gradNorms, double[] lrs, Map<String, double[]> gradsStep1,
                         Map<String, Var> finalParams) {}

    public static Result run(Path modelDir, TrainSpec spec) {
        ModelConfig config = ModelConfig.load(modelDir.resolve("config.json"));
        Parameters params = Parameters.load(modelDir, config);
        TrainableModel model = new TrainableModel(config, params, spec.problemType());
        Map<String, Var> trainable = new LinkedHashMap<>();
        List<String> names = spec.parameters().isEmpty() ? new ArrayList<>(params.all().keySet()) : spec.parameters();
        for (String n : names) {
            trainable.put(n, params.get(n));
        }
        AdamW opt = new AdamW(trainable, spec.beta1(), spec.beta2(), spec.eps(), spec.weightDecay(), spec.noDecay());
        Schedule schedule = spec.scheduleFunction();
        int n = spec.steps().size();
        double[] losses = new double[n];
        double[] norms = new double[n];
        double[] lrs = new double[n];
        Map<String, double[]> grads1 = new LinkedHashMap<>();
        for (int s = 0; s < n; s++) {
            TrainSpec.Step step = spec.steps().get(s);
            params.zeroGrad();
            double loss = 0;
            for (int b : step.batches()) {
                Tape t = new Tape();
                Var l = model.loss(t, spec.batches().get(b));
                loss += l.item() / step.batches().length;
                Var scaled = step.batches().length == 1 ? l : Fn.scale(t, l, 1.0 / step.batches().length);
                t.backward(scaled);
            }
            losses[s] = loss;
            if (s == 0) {
                trainable.forEach((k, v) -> grads1.put(k, v.grad.clone()));
            }
            norms[s] = AdamW.clipGradNorm(trainable.values(), spec.maxGradNorm());
            lrs[s] = spec.lr() * schedule.factor(s);
            opt.step(lrs[s]);
        }
        return new Result(losses, norms, lrs, grads1, trainable);
    }

    /**
     * The same replay on the fp32 training path ({@link FastModel}, {@link FastAdamW}): fp32 master
     * weights, gradients and moments, packed sequences (a check of that path against PyTorch's runs;
     * {@code train-step} replays with the float64 reference).
     */
    public static Result runFast(Path modelDir, TrainSpec spec, dev.xlmr.engine.Kernels kernels) {
        ModelConfig config = ModelConfig.load(modelDir.resolve("config.json"));
        FastModel model = FastModel.of(new TrainableModel(config, Parameters.load(modelDir, config), spec.problemType()),
                kernels);
        Map<String, FVar> trainable = new LinkedHashMap<>();
        List<String> names = spec.parameters().isEmpty() ? new ArrayList<>(model.parameters().keySet()) : spec.parameters();
        for (String n : names) {
            FVar v = model.parameters().get(n);
            if (v == null) {
                throw new dev.xlmr.model.CheckpointException("the model has no parameter '" + n + "'");
            }
            trainable.put(n, v);
        }
        FastAdamW opt = new FastAdamW(trainable, spec.beta1(), spec.beta2(), spec.eps(), spec.weightDecay(), spec.noDecay());
        Schedule schedule = spec.scheduleFunction();
        int n = spec.steps().size();
        double[] losses = new double[n];
        double[] norms = new double[n];
        double[] lrs = new double[n];
        Map<String, double[]> grads1 = new LinkedHashMap<>();
        for (int s = 0; s < n; s++) {
            TrainSpec.Step step = spec.steps().get(s);
            model.zeroGrad();
            double loss = 0;
            for (int b : step.batches()) {
                Tape t = new Tape();
                FVar l = model.loss(t, spec.batches().get(b), null);
                loss += l.data[0] / (double) step.batches().length;
                model.backward(t, l, 1f / step.batches().length);
            }
            losses[s] = loss;
            if (s == 0) {
                trainable.forEach((k, v) -> {
                    double[] g = new double[v.size()];
                    float[] f = v.grad();
                    for (int i = 0; i < g.length; i++) {
                        g[i] = f[i];
                    }
                    grads1.put(k, g);
                });
            }
            norms[s] = FastAdamW.clipGradNorm(trainable.values(), spec.maxGradNorm());
            lrs[s] = spec.lr() * schedule.factor(s);
            opt.step(lrs[s]);
        }
        Map<String, Var> fin = new LinkedHashMap<>();
        trainable.forEach((k, v) -> fin.put(k, new Var(v.shape(), v.toDouble())));
        return new Result(losses, norms, lrs, grads1, fin);
    }
}
