package dev.xlmr.train;

import java.util.ArrayList;
import java.util.List;

/**
 * Records the backward function of every op run in a step (as PyTorch autograd's graph does) and
 * runs them in reverse order. One tape per forward pass; throw it away after {@link #backward}.
 *
 * <pre>{@code
 * Tape t = new Tape();
 * Var y = Fn.tanh(t, x);
 * Var loss = Fn.sum(t, y);
 * t.backward(loss); // x.grad now holds 1 - tanh(x)^2
 * }</pre>
 */
public final class Tape {
    private final List<Runnable> backwards = new ArrayList<>();

    /** Adds the backward function of an op just run; it reads its output's grad and adds to its inputs' grads. */
    void record(Runnable backward) {
        backwards.add(backward);
    }

    /** Seeds d loss / d loss = 1 and runs the recorded backward functions, last op first. */
    public void backward(Var loss) {
        if (loss.size() != 1) {
            throw new IllegalArgumentException("backward needs a scalar loss, got " + loss);
        }
        loss.grad[0] += 1;
        for (int i = backwards.size() - 1; i >= 0; i--) {
            backwards.get(i).run();
        }
        backwards.clear();
    }

    /** Runs the recorded backward functions, last op first, once the caller has seeded its loss's gradient. */
    void runBackward() {
        for (int i = backwards.size() - 1; i >= 0; i--) {
            backwards.get(i).run();
            backwards.set(i, null); // what it captured (activations) can go now
        }
        backwards.clear();
    }

    /** The number of ops recorded so far. */
    public int size() {
        return backwards.size();
    }
}
