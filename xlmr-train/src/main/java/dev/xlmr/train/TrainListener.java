package dev.xlmr.train;

import java.nio.file.Path;
import java.util.Map;

/**
 * Callbacks of a {@link Trainer} run, for progress bars and logs. Every method has an empty default.
 *
 * <pre>{@code
 * TrainListener l = new TrainListener() {
 *     public void onEvaluate(int step, Map<String, Double> metrics) { System.out.println(step + " " + metrics); }
 * };
 * }</pre>
 */
public interface TrainListener {
    /** Before the first step: the run's total steps and the step it starts from (after resuming). */
    default void onStart(int totalSteps, int startStep) {}

    /**
     * After each optimizer step.
     *
     * @param loss the step's training loss
     * @param lr the learning rate the step used
     * @param examplesPerSecond training examples per second since the start
     */
    default void onStep(int step, int totalSteps, double loss, double lr, double examplesPerSecond) {}

    /** Every logging_steps: step, epoch, mean loss since the last log, learning rate, grad norm. */
    default void onLog(Map<String, Object> entry) {}

    /** After an evaluation: "loss" and the task's metrics. */
    default void onEvaluate(int step, Map<String, Double> metrics) {}

    /** After a checkpoint folder was written. */
    default void onSave(Path checkpoint) {}
}
