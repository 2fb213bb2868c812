package dev.xlmr.engine;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The encoder's own threads for work the kernels do not spread themselves (attention's (sequence, head) pairs):
 * {@code threads - 1} pool workers, made on first use, with the caller as the last participant.
 */
final class WorkerPool implements AutoCloseable {
    private final int threads;
    private ForkJoinPool pool;

    /** Work item {@code (slot, unit)}: slot is the participant's index in {@code [0, threads)}. */
    interface SlotTask {
        void run(int slot, int unit);
    }

    WorkerPool(int threads) {
        this.threads = Math.max(1, threads);
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code units} work items on {@code participants} (at most {@link #threads()}: the caller and pool
     * workers), which claim items one at a time, so a participant slowed down by other work on the cores takes fewer.
     */
    void parallelFor(int participants, int units, SlotTask task) {
        if (participants <= 1 || units <= 1) {
            for (int u = 0; u < units; u++) {
                task.run(0, u);
            }
            return;
        }
        participants = Math.min(participants, threads);
        if (pool == null) {
            pool = new ForkJoinPool(threads - 1);
        }
        AtomicInteger next = new AtomicInteger();
        IntConsumer body = slot -> {
            for (int u; (u = next.getAndIncrement()) < units; ) {
                task.run(slot, u);
            }
        };
        ForkJoinTask<?>[] fs = new ForkJoinTask<?>[participants];
        for (int i = 1; i < participants; i++) {
            int slot = i;
            fs[i] = pool.submit(() -> body.accept(slot));
        }
        Throwable err = null;
        try {
            body.accept(0);
        } catch (Throwable e) {
            err = e;
            next.set(units); // stop the others early
        }
        for (int i = 1; i < participants; i++) {
            try {
                fs[i].join();
            } catch (Throwable e) {
                if (err == null) {
                    err = e;
                }
            }
        }
        if (err instanceof RuntimeException re) {
            throw re;
        }
        if (err instanceof Error er) {
            throw er;
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
