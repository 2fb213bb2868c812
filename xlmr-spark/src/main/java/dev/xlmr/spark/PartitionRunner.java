package dev.xlmr.spark;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * The executor side of every transformer: reads a partition in chunks ({@code 32 * batchSize} rows
 * per thread), hands the texts of a chunk to the task, which runs them in batches of
 * {@code batchSize} sorted by token length (as the pipelines' batched methods do), and emits each
 * input row with its result appended, in the input order. Null texts give null, empty or blank
 * texts {@link Task#emptyResult()}, without touching the model.
 *
 * <p>The model's encoder is shared by every task of the JVM and runs one batch at a time on all the
 * executor's cores (see {@link ModelCache}); what a task does on its own thread is tokenizing, pooling
 * and building rows, which overlaps the other tasks' batches. With {@code spark.task.cpus > 1} a task
 * deals its chunk out in length order into that many groups, run at once on its own thread and
 * helpers from a shared pool, so that it keeps the encoder busy by itself.
 */
final class PartitionRunner implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    /** Chunks hold this many batches per thread, so that sorting by length has enough to choose from. */
    private static final int BATCHES_PER_CHUNK = 32;

    private static final ExecutorService HELPERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "xlmr-spark-helper");
        t.setDaemon(true);
        return t;
    });

    private final Task task;
    private final int textIndex;
    private final int pairIndex;
    private final int threads;

    /**
     * @param textIndex the position of the text column in the input rows
     * @param pairIndex the position of the second-text column, or -1
     */
    PartitionRunner(Task task, int textIndex, int pairIndex) {
        this(task, textIndex, pairIndex, 0);
    }

    /** With a number of threads per task; 0: {@code spark.task.cpus} of the running task. */
    PartitionRunner(Task task, int textIndex, int pairIndex, int threads) {
        this.task = task;
        this.textIndex = textIndex;
        this.pairIndex = pairIndex;
        this.threads = threads;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        TaskContext ctx = TaskContext.get();
        int threads = this.threads > 0 ? this.threads : Math.max(1, ctx == null ? 1 : ctx.cpus());
        int chunkRows = task.batchSize * BATCHES_PER_CHUNK * threads;
        return new Iterator<>() {
            private final ArrayDeque<Row> ready = new ArrayDeque<>();
            private Task.Batcher batcher;

            @Override
            public boolean hasNext() {
                if (ready.isEmpty() && input.hasNext()) {
                    List<Row> chunk = new ArrayList<>(Math.min(chunkRows, 1024));
                    while (chunk.size() < chunkRows && input.hasNext()) {
                        chunk.add(input.next());
                    }
                    Object[] results = compute(chunk);
                    for (int i = 0; i < chunk.size(); i++) {
                        ready.add(append(chunk.get(i), results[i]));
                    }
                }
                return !ready.isEmpty();
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return ready.poll();
            }

            private Object[] compute(List<Row> chunk) {
                Object[] results = new Object[chunk.size()];
                List<Integer> work = new ArrayList<>();
                for (int i = 0; i < chunk.size(); i++) {
                    String text = chunk.get(i).getString(textIndex);
                    if (text == null) {
                        results[i] = null;
                    } else if (text.isBlank()) {
                        results[i] = task.emptyResult();
                    } else {
                        work.add(i);
                    }
                }
                if (work.isEmpty()) {
                    return results;
                }
                if (batcher == null) {
                    batcher = task.open();   // the first non-empty text loads the model (once per JVM)
                }
                // one group per thread; the groups get the same mix of lengths (dealt out in length
                // order), and each is sorted by token length and batched inside (as the pipelines do)
                int groups = Math.min(threads, (work.size() + task.batchSize - 1) / task.batchSize);
                if (groups > 1) {
                    work.sort(Comparator.comparingInt((Integer i) -> length(chunk.get(i))));
                }
                List<Runnable> runs = new ArrayList<>(groups);
                for (int g = 0; g < groups; g++) {
                    List<Integer> rows = new ArrayList<>(work.size() / groups + 1);
                    for (int k = g; k < work.size(); k += groups) {
                        rows.add(work.get(k));
                    }
                    runs.add(() -> {
                        List<String> texts = new ArrayList<>(rows.size());
                        List<String> pairs = pairIndex < 0 ? null : new ArrayList<>(rows.size());
                        for (int r : rows) {
                            texts.add(chunk.get(r).getString(textIndex));
                            if (pairs != null) {
                                pairs.add(chunk.get(r).getString(pairIndex));
                            }
                        }
                        Object[] out = batcher.apply(texts, pairs);
                        for (int k = 0; k < rows.size(); k++) {
                            results[rows.get(k)] = out[k];
                        }
                    });
                }
                runAll(runs);
                return results;
            }
        };
    }

    private int length(Row row) {
        String pair = pairIndex < 0 ? null : row.getString(pairIndex);
        return row.getString(textIndex).length() + (pair == null ? 0 : pair.length());
    }

    /** Runs the first on this thread and the others on helpers; the first failure is rethrown. */
    private static void runAll(List<Runnable> runs) {
        List<Future<?>> helpers = new ArrayList<>(runs.size());
        for (int i = 1; i < runs.size(); i++) {
            helpers.add(HELPERS.submit(runs.get(i)));
        }
        RuntimeException failure = null;
        try {
            runs.get(0).run();
        } catch (RuntimeException e) {
            failure = e;
            helpers.forEach(h -> h.cancel(true));
        }
        for (Future<?> f : helpers) {
            try {
                f.get();
            } catch (CancellationException e) {
                // cancelled after a failure here
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
                }
            } catch (InterruptedException e) {
                // the task was killed: stop the helpers too
                helpers.forEach(h -> h.cancel(true));
                Thread.currentThread().interrupt();
                throw new IllegalStateException("xlmr-spark: interrupted", e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static Row append(Row row, Object value) {
        Object[] values = Arrays.copyOf(rowValues(row), row.size() + 1);
        values[row.size()] = value;
        return RowFactory.create(values);
    }

    private static Object[] rowValues(Row row) {
        Object[] v = new Object[row.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = row.get(i);
        }
        return v;
    }
}
