package dev.xlmr.server;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * Merges work from many callers into model batches run by one worker thread.
 *
 * <p>Each submission is a list of inputs with a token cost and a merge key; submissions with equal keys
 * (same operation and options) are concatenated, in arrival order, up to {@code maxBatchTokens}, and run
 * with one call of the first submission's function, whose results are split back to each caller's future.
 * The worker takes the oldest submission and waits at most {@code maxWaitMs} for more of its kind while
 * the batch has room, nothing of another kind is waiting, and fewer submissions have come than the last
 * batch had (so a lone client is served at once, and a crowd is gathered again). The queue holds at most {@code maxQueue}
 * submissions: beyond that {@link #submit} rejects at once (the server answers 429) and
 * {@link #call} waits for room. If a merged batch fails, its submissions are retried one by one so that
 * one bad input fails only its own caller.
 *
 * <pre>{@code
 * try (DynamicBatcher b = new DynamicBatcher(2048, 5, 256, DynamicBatcher.Listener.NONE)) {
 *     CompletableFuture<List<float[]>> f = b.submit(key, texts, tokens, batch -> embed(batch));
 *     List<float[]> vectors = b.await(f, 30_000);
 * }
 * }</pre>
 */
public final class DynamicBatcher implements AutoCloseable {

    /** Told about every batch run, for metrics. */
    public interface Listener {
        Listener NONE = (items, tokens, submissions, nanos) -> { };

        /** A batch of {@code items} inputs ({@code tokens} cost) from {@code submissions} callers took {@code nanos}. */
        void batchDone(int items, int tokens, int submissions, long nanos);
    }

    private static final class Task {
        final Object key;
        final List<?> inputs;
        final int tokens;
        final Function<List<Object>, List<?>> run;
        final CompletableFuture<List<?>> future = new CompletableFuture<>();
        final long enqueued = System.nanoTime();

        @SuppressWarnings("unchecked")
        Task(Object key, List<?> inputs, int tokens, Function<? extends List<?>, ? extends List<?>> run) {
            this.key = key;
            this.inputs = inputs;
            this.tokens = tokens;
            this.run = (Function<List<Object>, List<?>>) run;
        }
    }

    private final int maxBatchTokens;
    private final long maxWaitNanos;
    private final int maxQueue;
    private final Listener listener;
    private final ArrayDeque<Task> queue = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final Condition room = lock.newCondition();
    private final Thread worker;
    private boolean closing;
    /** Submissions in the last batch: how much company the next one can expect. */
    private int lastSubmissions = 1;

    /**
     * Starts the worker thread.
     *
     * @param maxBatchTokens token budget of one batch (a single bigger submission runs alone)
     * @param maxWaitMs      how long the oldest submission may wait for company
     * @param maxQueue       submissions waiting at most
     */
    public DynamicBatcher(int maxBatchTokens, long maxWaitMs, int maxQueue, Listener listener) {
        if (maxBatchTokens < 1 || maxWaitMs < 0 || maxQueue < 1) {
            throw new IllegalArgumentException("max batch tokens and max queue must be positive, max wait not negative");
        }
        this.maxBatchTokens = maxBatchTokens;
        this.maxWaitNanos = TimeUnit.MILLISECONDS.toNanos(maxWaitMs);
        this.maxQueue = maxQueue;
        this.listener = Objects.requireNonNull(listener);
        this.worker = Thread.ofPlatform().name("xlmr-batcher").daemon().start(this::work);
    }

    /**
     * Queues inputs for the model.
     *
     * @param mergeKey equal keys may be merged into one call; null never merges
     * @param tokens   the cost of the inputs against the batch budget
     * @param run      computes one result per input, for these inputs or a concatenation with others
     * @throws RejectedExecutionException when the queue is full or the batcher is closed
     */
    public <I, R> CompletableFuture<List<R>> submit(Object mergeKey, List<I> inputs, int tokens, Function<List<I>, List<R>> run) {
        return enqueue(new Task(mergeKey, List.copyOf(inputs), tokens, run), false);
    }

    /**
     * Like {@link #submit} but waits for room in the queue and for the result: for internal callers
     * (NOVA jobs) that must not be turned away.
     *
     * @throws InterruptedException when the caller is interrupted while waiting (its inputs are dropped)
     */
    public <I, R> List<R> call(Object mergeKey, List<I> inputs, int tokens, Function<List<I>, List<R>> run)
            throws InterruptedException {
        CompletableFuture<List<R>> f = enqueue(new Task(mergeKey, List.copyOf(inputs), tokens, run), true);
        try {
            return f.get();
        } catch (InterruptedException e) {
            cancel(f);
            throw e;
        } catch (ExecutionException e) {
            throw unwrap(e);
        }
    }

    /**
     * Waits for a submission's result at most {@code timeoutMs}; on timeout the submission is withdrawn.
     *
     * @throws TimeoutException after {@code timeoutMs}
     * @throws RuntimeException what the model call threw
     */
    public <R> R await(CompletableFuture<R> f, long timeoutMs) throws TimeoutException, InterruptedException {
        try {
            return f.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (TimeoutException | InterruptedException e) {
            cancel(f);
            throw e;
        } catch (ExecutionException e) {
            throw unwrap(e);
        }
    }

    private static RuntimeException unwrap(ExecutionException e) {
        return e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    }

    /** Withdraws a submission that has not run yet; a running one finishes but its result is dropped. */
    public void cancel(CompletableFuture<?> f) {
        f.cancel(false);
        lock.lock();
        try {
            if (queue.removeIf(t -> t.future == f)) room.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Submissions waiting (not running). */
    public int queueDepth() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** Whether the worker is running and accepting work. */
    public boolean isHealthy() {
        lock.lock();
        try {
            return !closing && worker.isAlive();
        } finally {
            lock.unlock();
        }
    }

    @SuppressWarnings("unchecked")
    private <R> CompletableFuture<List<R>> enqueue(Task t, boolean waitForRoom) {
        lock.lock();
        try {
            while (!closing && queue.size() >= maxQueue) {
                if (!waitForRoom) throw new RejectedExecutionException("the queue is full (" + maxQueue + " requests)");
                room.awaitUninterruptibly();
            }
            if (closing) throw new RejectedExecutionException("the server is shutting down");
            queue.addLast(t);
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
        return (CompletableFuture<List<R>>) (CompletableFuture<?>) t.future;
    }

    private void work() {
        while (true) {
            List<Task> batch;
            lock.lock();
            try {
                while (queue.isEmpty() && !closing) arrived.awaitUninterruptibly();
                if (queue.isEmpty()) return; // closing and drained
                batch = gather();
                queue.removeAll(batch);
                room.signalAll();
            } finally {
                lock.unlock();
            }
            run(batch);
        }
    }

    /** Collects the oldest task and same-key company; waits up to the deadline while the batch can grow. */
    private List<Task> gather() {
        Task first = queue.peekFirst();
        long deadline = first.enqueued + maxWaitNanos;
        while (true) {
            List<Task> batch = new ArrayList<>();
            batch.add(first);
            int tokens = first.tokens;
            boolean full = first.key == null, othersWaiting = false;
            Iterator<Task> it = queue.iterator();
            it.next();
            while (it.hasNext() && !full) {
                Task t = it.next();
                if (first.key != null && first.key.equals(t.key)) {
                    if (tokens + t.tokens <= maxBatchTokens) {
                        batch.add(t);
                        tokens += t.tokens;
                    } else {
                        full = true;
                    }
                } else {
                    othersWaiting = true;
                }
            }
            long left = deadline - System.nanoTime();
            // As many callers as last time are here (all of them, for clients that wait for their answer
            // before asking again): waiting longer would only idle the model.
            boolean expected = batch.size() >= lastSubmissions;
            if (full || othersWaiting || closing || expected || tokens >= maxBatchTokens || left <= 0) {
                lastSubmissions = batch.size();
                return batch;
            }
            try {
                arrived.awaitNanos(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return batch;
            }
        }
    }

    private void run(List<Task> batch) {
        batch.removeIf(t -> t.future.isDone()); // timed out or cancelled while queued
        if (batch.isEmpty()) return;
        List<Object> inputs = new ArrayList<>();
        int tokens = 0;
        for (Task t : batch) {
            inputs.addAll(t.inputs);
            tokens += t.tokens;
        }
        long start = System.nanoTime();
        List<?> results;
        try {
            results = batch.getFirst().run.apply(inputs);
            if (results == null || results.size() != inputs.size()) {
                throw new IllegalStateException("the model returned " + (results == null ? "nothing" : results.size()
                        + " results") + " for " + inputs.size() + " inputs");
            }
        } catch (RuntimeException | Error e) {
            if (batch.size() > 1) {
                for (Task t : batch) run(new ArrayList<>(List.of(t))); // isolate the failing input
            } else {
                batch.getFirst().future.completeExceptionally(e);
            }
            return;
        }
        listener.batchDone(inputs.size(), tokens, batch.size(), System.nanoTime() - start);
        int at = 0;
        for (Task t : batch) {
            t.future.complete(List.copyOf(results.subList(at, at + t.inputs.size())));
            at += t.inputs.size();
        }
    }

    /** Stops taking work, finishes what is queued, and stops the worker. */
    @Override
    public void close() {
        lock.lock();
        try {
            closing = true;
            arrived.signalAll();
            room.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            worker.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
