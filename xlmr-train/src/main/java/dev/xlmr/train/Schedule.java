package dev.xlmr.train;

/**
 * Learning-rate schedules of transformers' optimization module, as a factor of the base rate for
 * the 0-based step about to be taken.
 *
 * <pre>{@code
 * Schedule s = Schedule.linear(10, 100); // get_linear_schedule_with_warmup(opt, 10, 100)
 * double lr = 5e-5 * s.factor(step);
 * }</pre>
 */
@FunctionalInterface
public interface Schedule {
    double factor(int step);

    /** get_linear_schedule_with_warmup: 0 → 1 over {@code warmup} steps, then down to 0 at {@code total}. */
    static Schedule linear(int warmup, int total) {
        return step -> step < warmup ? (double) step / Math.max(1, warmup)
                : Math.max(0.0, (double) (total - step) / Math.max(1, total - warmup));
    }

    /** get_constant_schedule_with_warmup. */
    static Schedule constant(int warmup) {
        return step -> step < warmup ? (double) step / Math.max(1, warmup) : 1.0;
    }

    /** get_cosine_schedule_with_warmup with half a cosine wave. */
    static Schedule cosine(int warmup, int total) {
        return step -> {
            if (step < warmup) {
                return (double) step / Math.max(1, warmup);
            }
            double progress = (double) (step - warmup) / Math.max(1, total - warmup);
            return Math.max(0.0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress)));
        };
    }
}
