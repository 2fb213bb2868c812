package dev.xlmr.train;

/**
 * The settings of a {@link Trainer} run, with transformers' TrainingArguments names and defaults
 * (learning rate 5e-5, 3 epochs, batch 8, weight decay 0, max grad norm 1, linear schedule, seed 42).
 * Fluent setters return this object.
 *
 * <pre>{@code
 * TrainOptions o = new TrainOptions().epochs(2).learningRate(3e-5).batchSize(16).warmupRatio(0.1)
 *         .evalSteps(100).saveSteps(100).earlyStoppingPatience(3);
 * }</pre>
 */
public final class TrainOptions {
    double epochs = 3;
    int maxSteps = -1;
    double learningRate = 5e-5;
    int batchSize = 8;
    int evalBatchSize = 0;
    int gradientAccumulation = 1;
    double warmupRatio = 0;
    int warmupSteps = 0;
    double weightDecay = 0;
    double maxGradNorm = 1;
    double adamBeta1 = 0.9;
    double adamBeta2 = 0.999;
    double adamEpsilon = 1e-8;
    String scheduler = "linear";
    int maxLength = 128;
    long seed = 42;
    int evalSteps = 0;
    int saveSteps = 0;
    int loggingSteps = 10;
    int earlyStoppingPatience = 0;
    int docStride = 128;
    int maxAnswerLength = 30;
    double mlmProbability = 0.15;
    boolean dropout = true;
    boolean fp32Matmul;
    boolean float64;
    String problemType;

    /** Passes over the training data (fractions stop part-way through the last). */
    public TrainOptions epochs(double v) {
        epochs = positive(v, "epochs");
        return this;
    }

    /** Stop after this many optimizer steps (-1: from epochs). */
    public TrainOptions maxSteps(int v) {
        maxSteps = v;
        return this;
    }

    public TrainOptions learningRate(double v) {
        learningRate = positive(v, "learning rate");
        return this;
    }

    /** Examples per forward pass (per_device_train_batch_size). */
    public TrainOptions batchSize(int v) {
        batchSize = (int) positive(v, "batch size");
        return this;
    }

    /** Examples per forward pass in evaluation (0: the training batch size). */
    public TrainOptions evalBatchSize(int v) {
        evalBatchSize = v;
        return this;
    }

    /** Forward passes whose gradients add up to one optimizer step. */
    public TrainOptions gradientAccumulation(int v) {
        gradientAccumulation = (int) positive(v, "gradient accumulation steps");
        return this;
    }

    /** Warmup as a fraction of all steps (used when warmupSteps is 0). */
    public TrainOptions warmupRatio(double v) {
        if (!(v >= 0 && v <= 1)) {
            throw new IllegalArgumentException("warmup ratio must lie in [0, 1], got " + v);
        }
        warmupRatio = v;
        return this;
    }

    public TrainOptions warmupSteps(int v) {
        warmupSteps = nonNegative(v, "warmup steps");
        return this;
    }

    /** AdamW's decoupled weight decay (not on biases and LayerNorm weights). */
    public TrainOptions weightDecay(double v) {
        weightDecay = v;
        return this;
    }

    /** Clip the global gradient norm to this (0 or less: no clipping). */
    public TrainOptions maxGradNorm(double v) {
        maxGradNorm = v;
        return this;
    }

    public TrainOptions adam(double beta1, double beta2, double epsilon) {
        adamBeta1 = beta1;
        adamBeta2 = beta2;
        adamEpsilon = epsilon;
        return this;
    }

    /** "linear", "constant" or "cosine" (each with warmup). */
    public TrainOptions scheduler(String v) {
        if (!v.equals("linear") && !v.equals("constant") && !v.equals("cosine")) {
            throw new IllegalArgumentException("scheduler '" + v + "' is not one of linear, constant, cosine");
        }
        scheduler = v;
        return this;
    }

    /** Tokens per sequence, special tokens included (capped by the model's positions). */
    public TrainOptions maxLength(int v) {
        maxLength = (int) positive(v, "max length");
        return this;
    }

    /** Seeds the shuffling, dropout, new heads and masking. */
    public TrainOptions seed(long v) {
        seed = v;
        return this;
    }

    /** Evaluate every this many steps (0: at the end of each epoch). */
    public TrainOptions evalSteps(int v) {
        evalSteps = nonNegative(v, "eval steps");
        return this;
    }

    /** Write a checkpoint every this many steps (0: at the end of each epoch). */
    public TrainOptions saveSteps(int v) {
        saveSteps = nonNegative(v, "save steps");
        return this;
    }

    /** Report the mean loss every this many steps. */
    public TrainOptions loggingSteps(int v) {
        loggingSteps = (int) positive(v, "logging steps");
        return this;
    }

    /** Stop after this many evaluations without improvement (0: never). */
    public TrainOptions earlyStoppingPatience(int v) {
        earlyStoppingPatience = nonNegative(v, "early stopping patience");
        return this;
    }

    /** Question answering: tokens shared by neighbouring windows of a long context. */
    public TrainOptions docStride(int v) {
        docStride = nonNegative(v, "doc stride");
        return this;
    }

    /** Question answering: the longest answer (in tokens) evaluation predicts. */
    public TrainOptions maxAnswerLength(int v) {
        maxAnswerLength = (int) positive(v, "max answer length");
        return this;
    }

    /** Fill-mask: the fraction of tokens masked. */
    public TrainOptions mlmProbability(double v) {
        if (!(v > 0 && v < 1)) {
            throw new IllegalArgumentException("mlm probability must lie in (0, 1), got " + v);
        }
        mlmProbability = v;
        return this;
    }

    /** Train-mode dropout at the config's rates (on by default). */
    public TrainOptions dropout(boolean v) {
        dropout = v;
        return this;
    }

    /**
     * Train on the float64 reference path ({@link TrainableModel}, {@link AdamW}: float64 master
     * weights, gradients and moments, padded batches; what {@code train-step} replays) instead of
     * the default fp32 path ({@link FastModel}, {@link FastAdamW}: fp32 master weights, gradients
     * and moments, packed sequences, the engine's kernels). Much slower; 32 bytes per parameter.
     */
    public TrainOptions float64(boolean v) {
        float64 = v;
        return this;
    }

    /**
     * The float64 reference path ({@link #float64}) with its matrix products in fp32 on the
     * engine's kernels (the master weights, the optimizer and the other ops stay float64).
     */
    public TrainOptions fp32Matmul(boolean v) {
        fp32Matmul = v;
        return this;
    }

    /** Text classification: "single_label_classification", "multi_label_classification", "regression" (null: from the labels). */
    public TrainOptions problemType(String v) {
        problemType = v;
        return this;
    }

    int evalBatch() {
        return evalBatchSize > 0 ? evalBatchSize : batchSize;
    }

    private static double positive(double v, String what) {
        if (!(v > 0)) {
            throw new IllegalArgumentException(what + " must be > 0, got " + v);
        }
        return v;
    }

    private static int nonNegative(int v, String what) {
        if (v < 0) {
            throw new IllegalArgumentException(what + " must be >= 0, got " + v);
        }
        return v;
    }
}
