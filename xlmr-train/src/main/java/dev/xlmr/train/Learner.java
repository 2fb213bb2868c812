package dev.xlmr.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One training path's model and optimizer as {@link Trainer} drives them: the default fp32 path
 * ({@link FastModel}, {@link FastAdamW}) or the float64 reference ({@link TrainableModel}, {@link AdamW}).
 */
interface Learner {
    List<String> NO_DECAY = List.of("bias", "LayerNorm.weight", "layer_norm.weight");

    /** The loss of a batch with labels; its backward is recorded for {@link #backward}. */
    double forward(TrainBatch batch, Dropout drop);

    /** Adds {@code scale} times the gradient of the last forward's loss to the parameters' gradients. */
    void backward(double scale);

    void zeroGrad();

    /** clip_grad_norm_: returns the norm before clipping. */
    double clipGradNorm(double maxNorm);

    void step(double lr);

    int steps();

    void setSteps(int steps);

    /** The head's outputs in {@link TrainableModel#logits}'s layout and the loss, dropout off. */
    Eval eval(TrainBatch batch);

    record Eval(Var logits, double loss) {}

    /** The weights and AdamW moments as {@code param/NAME}, {@code exp_avg/NAME}, {@code exp_avg_sq/NAME}. */
    Map<String, Safetensors.Entry> state();

    /** Whether {@link #state} is float64 (written as F64) rather than fp32. */
    boolean float64();

    /** Takes the weights (and with {@code moments} the AdamW moments) of a {@link #state} map. */
    void load(Map<String, Safetensors.Entry> state, boolean moments, Path from);

    static Safetensors.Entry need(Map<String, Safetensors.Entry> state, String key, int size, Path from) {
        Safetensors.Entry e = state.get(key);
        if (e == null || e.size() != size) {
            throw new IllegalArgumentException(from + ": the checkpoint does not fit this model and task (" + key + ")");
        }
        return e;
    }

    /** The float64 reference path. */
    final class Reference implements Learner {
        final TrainableModel model;
        private final Map<String, Var> params;
        private final AdamW opt;
        private Tape tape;
        private Var loss;

        Reference(TrainableModel model, TrainOptions o) {
            this.model = model;
            this.params = model.parameters().all();
            this.opt = o == null ? null : new AdamW(params, o.adamBeta1, o.adamBeta2, o.adamEpsilon, o.weightDecay, NO_DECAY);
        }

        @Override public double forward(TrainBatch batch, Dropout drop) {
            tape = new Tape();
            loss = model.loss(tape, batch, drop);
            return loss.item();
        }

        @Override public void backward(double scale) {
            tape.backward(scale == 1 ? loss : Fn.scale(tape, loss, scale));
            tape = null;
            loss = null;
        }

        @Override public void zeroGrad() {
            model.parameters().zeroGrad();
        }

        @Override public double clipGradNorm(double maxNorm) {
            return AdamW.clipGradNorm(params.values(), maxNorm);
        }

        @Override public void step(double lr) {
            opt.step(lr);
        }

        @Override public int steps() {
            return opt.steps();
        }

        @Override public void setSteps(int steps) {
            opt.setSteps(steps);
        }

        @Override public Eval eval(TrainBatch batch) {
            Tape t = new Tape();
            Var logits = model.logits(t, batch, null);
            return new Eval(logits, model.lossOf(t, logits, batch).item());
        }

        @Override public Map<String, Safetensors.Entry> state() {
            Map<String, Safetensors.Entry> s = new LinkedHashMap<>();
            params.forEach((name, v) -> {
                s.put("param/" + name, new Safetensors.Entry(v.shape(), v.data));
                s.put("exp_avg/" + name, new Safetensors.Entry(v.shape(), opt.expAvg(name)));
                s.put("exp_avg_sq/" + name, new Safetensors.Entry(v.shape(), opt.expAvgSq(name)));
            });
            return s;
        }

        @Override public boolean float64() {
            return true;
        }

        @Override public void load(Map<String, Safetensors.Entry> state, boolean moments, Path from) {
            params.forEach((name, v) -> {
                System.arraycopy(need(state, "param/" + name, v.size(), from).asDoubles(), 0, v.data, 0, v.size());
                if (moments) {
                    System.arraycopy(need(state, "exp_avg/" + name, v.size(), from).asDoubles(), 0, opt.expAvg(name), 0, v.size());
                    System.arraycopy(need(state, "exp_avg_sq/" + name, v.size(), from).asDoubles(), 0, opt.expAvgSq(name), 0, v.size());
                }
            });
        }
    }

    /** The fp32 path. */
    final class Fast implements Learner {
        final FastModel model;
        private final FastAdamW opt;
        private Tape tape;
        private FVar loss;

        Fast(FastModel model, TrainOptions o) {
            this.model = model;
            this.opt = new FastAdamW(model.parameters(), o.adamBeta1, o.adamBeta2, o.adamEpsilon, o.weightDecay, NO_DECAY);
        }

        @Override public double forward(TrainBatch batch, Dropout drop) {
            tape = new Tape();
            loss = model.loss(tape, batch, drop);
            return loss.data[0];
        }

        @Override public void backward(double scale) {
            model.backward(tape, loss, (float) scale);
            tape = null;
            loss = null;
        }

        @Override public void zeroGrad() {
            model.zeroGrad();
        }

        @Override public double clipGradNorm(double maxNorm) {
            return FastAdamW.clipGradNorm(model.parameters().values(), maxNorm);
        }

        @Override public void step(double lr) {
            opt.step(lr);
        }

        @Override public int steps() {
            return opt.steps();
        }

        @Override public void setSteps(int steps) {
            opt.setSteps(steps);
        }

        @Override public Eval eval(TrainBatch batch) {
            Tape t = new Tape();
            FastModel.Out out = model.logits(t, batch, null);
            return new Eval(model.fullLogits(out, batch), model.lossOf(t, out, batch).data[0]);
        }

        @Override public Map<String, Safetensors.Entry> state() {
            Map<String, Safetensors.Entry> s = new LinkedHashMap<>();
            model.parameters().forEach((name, v) -> {
                s.put("param/" + name, Safetensors.Entry.ofFloats(v.shape(), v.data));
                s.put("exp_avg/" + name, Safetensors.Entry.ofFloats(v.shape(), opt.expAvg(name)));
                s.put("exp_avg_sq/" + name, Safetensors.Entry.ofFloats(v.shape(), opt.expAvgSq(name)));
            });
            return s;
        }

        @Override public boolean float64() {
            return false;
        }

        @Override public void load(Map<String, Safetensors.Entry> state, boolean moments, Path from) {
            model.parameters().forEach((name, v) -> {
                System.arraycopy(need(state, "param/" + name, v.size(), from).asFloats(), 0, v.data, 0, v.size());
                if (moments) {
                    System.arraycopy(need(state, "exp_avg/" + name, v.size(), from).asFloats(), 0, opt.expAvg(name), 0, v.size());
                    System.arraycopy(need(state, "exp_avg_sq/" + name, v.size(), from).asFloats(), 0, opt.expAvgSq(name), 0, v.size());
                }
            });
        }
    }
}
