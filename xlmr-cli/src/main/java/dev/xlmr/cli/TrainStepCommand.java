package dev.xlmr.cli;

import dev.xlmr.train.Replay;
import dev.xlmr.train.TrainStep;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code xlmr train-step --model DIR --spec DIR/train.json --out OUT}: replays exactly the steps of a
 * training spec (its batches, AdamW, schedule, clipping; dropout off) and writes OUT/steps.jsonl,
 * OUT/grads_step1.safetensors and OUT/final.safetensors, for comparing with a PyTorch run.
 *
 * <pre>{@code
 * ./xlmr train-step --model case --spec case/train.json --out /tmp/run
 * step 1: loss 1.1534 grad_norm 2.0331
 * }</pre>
 */
@Command(name = "train-step", mixinStandardHelpOptions = true,
        description = "Replay a training spec (train.json) on a model folder; write steps.jsonl, grads_step1 and final safetensors.")
final class TrainStepCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model folder.")
    Path model;

    @Option(names = "--spec", required = true, paramLabel = "FILE", description = "train.json: batches, optimizer, schedule, steps.")
    Path specFile;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the results.")
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Replay.Result r = TrainStep.run(model, specFile, out);
        for (int s = 0; s < r.losses().length; s++) {
            spec.commandLine().getErr().printf("step %d: loss %.6g grad_norm %.6g lr %.6g%n",
                    s + 1, r.losses()[s], r.gradNorms()[s], r.lrs()[s]);
        }
        return 0;
    }
}
