package dev.xlmr.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xlmr.hub.ModelLocator;
import dev.xlmr.train.Task;
import dev.xlmr.train.TrainListener;
import dev.xlmr.train.TrainOptions;
import dev.xlmr.train.Trainer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code xlmr train}: fine-tunes a checkpoint on a task's data (see {@link Trainer}) and writes a
 * Hugging Face model folder that the other commands, the server and transformers load. Evaluation
 * results go to stdout as JSON lines ({"step", "eval_..."}); the progress bar (loss, learning rate,
 * examples/s, ETA) and log lines go to stderr.
 *
 * <pre>{@code
 * ./xlmr train --model xlm-roberta-base --task text-classification --train train.jsonl \
 *     --validation dev.jsonl --out out --epochs 3 --learning-rate 3e-5 --batch-size 16
 * ./xlmr classify --model out "great film"
 * }</pre>
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Fine-tune a model on a task's data (JSON lines, CSV, CoNLL, SQuAD, text lines); write a Hugging Face folder.")
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "Model folder or hub id to start from.")
    String model;

    @Option(names = "--revision", paramLabel = "R", description = "Hub branch, tag or commit (default: main).")
    String revision;

    @Option(names = "--task", required = true, paramLabel = "TASK",
            description = "text-classification, token-classification, question-answering, fill-mask or multiple-choice.")
    String task;

    @Option(names = "--train", required = true, paramLabel = "FILE", description = "Training data.")
    Path train;

    @Option(names = "--validation", paramLabel = "FILE", description = "Evaluation data (picks the best checkpoint).")
    Path validation;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (model, checkpoints).")
    Path out;

    @Option(names = "--epochs", defaultValue = "3", description = "Passes over the training data (default: ${DEFAULT-VALUE}).")
    double epochs;

    @Option(names = "--max-steps", defaultValue = "-1", description = "Stop after N optimizer steps (overrides --epochs).")
    int maxSteps;

    @Option(names = {"--learning-rate", "--lr"}, defaultValue = "5e-5", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--batch-size", defaultValue = "8", description = "Examples per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--eval-batch-size", defaultValue = "0", description = "Examples per evaluation pass (default: the batch size).")
    int evalBatchSize;

    @Option(names = "--gradient-accumulation-steps", defaultValue = "1", description = "Forward passes per optimizer step.")
    int accumulation;

    @Option(names = "--warmup-ratio", defaultValue = "0", description = "Warmup as a fraction of all steps.")
    double warmupRatio;

    @Option(names = "--warmup-steps", defaultValue = "0", description = "Warmup steps (overrides --warmup-ratio).")
    int warmupSteps;

    @Option(names = "--weight-decay", defaultValue = "0", description = "AdamW weight decay (not on biases and LayerNorm).")
    double weightDecay;

    @Option(names = "--max-grad-norm", defaultValue = "1", description = "Clip the gradient norm (0: no clipping; default: ${DEFAULT-VALUE}).")
    double maxGradNorm;

    @Option(names = "--scheduler", defaultValue = "linear", description = "linear, constant or cosine (default: ${DEFAULT-VALUE}).")
    String scheduler;

    @Option(names = "--max-length", defaultValue = "128", description = "Tokens per sequence (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of shuffling, dropout, new heads, masking (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--eval-steps", defaultValue = "0", description = "Evaluate every N steps (0: every epoch).")
    int evalSteps;

    @Option(names = "--save-steps", defaultValue = "0", description = "Checkpoint every N steps (0: every epoch).")
    int saveSteps;

    @Option(names = "--logging-steps", defaultValue = "10", description = "Log the mean loss every N steps (default: ${DEFAULT-VALUE}).")
    int loggingSteps;

    @Option(names = "--early-stopping-patience", defaultValue = "0", description = "Stop after N evaluations without improvement (0: never).")
    int patience;

    @Option(names = "--resume", arity = "0..1", fallbackValue = "", paramLabel = "CHECKPOINT",
            description = "Continue from a checkpoint folder (no value: the latest checkpoint-N in --out).")
    String resume;

    @Option(names = "--doc-stride", defaultValue = "128", description = "QA: tokens shared by neighbouring windows (default: ${DEFAULT-VALUE}).")
    int docStride;

    @Option(names = "--mlm-probability", defaultValue = "0.15", description = "Fill-mask: fraction of tokens masked (default: ${DEFAULT-VALUE}).")
    double mlmProbability;

    @Option(names = "--problem-type", description = "Text classification: single_label_classification, multi_label_classification or regression.")
    String problemType;

    @Option(names = "--no-dropout", description = "Train without dropout.")
    boolean noDropout;

    @Option(names = "--float64", description = "Train on the float64 reference path (slow; what train-step replays). "
            + "Default: fp32 master weights, gradients and AdamW moments, packed sequences, the engine's kernels.")
    boolean float64;

    @Option(names = "--fp32-matmul", description = "The float64 reference path with its matrix products in fp32 (float64 master weights).")
    boolean fp32Matmul;

    @Option(names = "--progress", negatable = true, description = "Progress bar on stderr (default: when stderr is a terminal).")
    Boolean progress;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Task t;
        TrainOptions o;
        try {
            t = Task.parse(task);
            o = new TrainOptions().epochs(epochs).maxSteps(maxSteps).learningRate(lr).batchSize(batchSize)
                    .evalBatchSize(evalBatchSize).gradientAccumulation(accumulation).warmupRatio(warmupRatio)
                    .warmupSteps(warmupSteps).weightDecay(weightDecay).maxGradNorm(maxGradNorm).scheduler(scheduler)
                    .maxLength(maxLength).seed(seed).evalSteps(evalSteps).saveSteps(saveSteps).loggingSteps(loggingSteps)
                    .earlyStoppingPatience(patience).docStride(docStride).mlmProbability(mlmProbability)
                    .problemType(problemType).dropout(!noDropout).float64(float64).fp32Matmul(fp32Matmul);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Path dir = ModelLocator.resolve(model, revision);
        Trainer trainer = new Trainer(dir, t, o);
        if (resume != null) {
            trainer = resume.isEmpty() ? trainer.resumeLatest() : trainer.resumeFrom(Path.of(resume));
        }
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        boolean bar = progress != null ? progress : TaskCommand.stderrIsTerminal();
        ObjectMapper json = new ObjectMapper();
        ProgressBar[] pb = new ProgressBar[1];
        TrainListener listener = new TrainListener() {
            @Override
            public void onStart(int totalSteps, int startStep) {
                if (bar) {
                    pb[0] = new ProgressBarBuilder().setTaskName("train").setInitialMax(totalSteps)
                            .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).showSpeed()
                            .setConsumer(new ConsoleProgressBarConsumer(System.err)).startsFrom(startStep, java.time.Duration.ZERO)
                            .build();
                }
            }

            @Override
            public void onStep(int step, int totalSteps, double loss, double lr, double examplesPerSecond) {
                if (pb[0] != null) {
                    pb[0].stepTo(step);
                    pb[0].setExtraMessage(String.format(Locale.ROOT, " loss %.4f lr %.2e %.1f ex/s", loss, lr, examplesPerSecond));
                }
            }

            @Override
            public void onLog(Map<String, Object> entry) {
                if (pb[0] == null) {
                    err.println(write(json, entry));
                }
            }

            @Override
            public void onEvaluate(int step, Map<String, Double> metrics) {
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("step", step);
                metrics.forEach((k, v) -> line.put("eval_" + k, v));
                stdout.println(write(json, line));
                stdout.flush();
            }
        };
        Trainer.Result r;
        try {
            r = trainer.train(train, validation, out, listener);
        } finally {
            if (pb[0] != null) {
                pb[0].close();
            }
        }
        err.printf(Locale.ROOT, "xlmr: trained %d steps (mean loss %.4f); model in %s%n", r.steps(), r.trainLoss(), r.out());
        return 0;
    }

    private static String write(ObjectMapper json, Object o) {
        try {
            return json.writeValueAsString(o);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
