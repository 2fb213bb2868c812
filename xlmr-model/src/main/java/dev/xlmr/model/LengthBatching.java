package dev.xlmr.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.IntUnaryOperator;

/**
 * The project's one length-aware batching, under every door (the pipelines, hence the CLI, the server, NOVA;
 * Spark's token embeddings; the fast engine's {@code encodeAll}): token id sequences are sorted longest first, cut
 * into batches of at most {@code batchSize} sequences (fewer where {@code rowsFor} says so for a length, e.g.
 * vocabulary-sized outputs) and at most {@code maxBatchTokens} tokens counted as sequences x longest (0: no bound).
 * {@link #run} runs each batch as one {@link PackedInput} through {@link Encoder#forward(PackedInput)} (no padding
 * is made at any point) and hands every sequence's output over with its index in the caller's list;
 * {@link #forEachBatch} hands over the batches themselves, for a caller that runs them another way.
 *
 * <pre>{@code
 * LengthBatching batching = LengthBatching.of(32);
 * float[][] hidden = new float[ids.size()][];
 * batching.run(encoder, ids, (input, out, s) -> hidden[input] = out.tokens("last_hidden_state", s));
 * }</pre>
 *
 * @param batchSize      sequences per forward pass at most (>= 1)
 * @param maxBatchTokens sequences x longest per forward pass at most, 0 for no bound
 * @param rowsFor        the sequences a batch may hold given its longest length (capped by {@code batchSize})
 */
public record LengthBatching(int batchSize, int maxBatchTokens, IntUnaryOperator rowsFor) {

    /** Where each sequence's output goes: its index in the caller's list, its batch's output, its index there. */
    @FunctionalInterface
    public interface Handler {
        void accept(int input, PackedOutput output, int sequence);
    }

    /** One batch: the caller's indices of its sequences and the sequences, both longest first. */
    @FunctionalInterface
    public interface BatchHandler {
        void accept(int[] inputs, List<int[]> batch);
    }

    public LengthBatching {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        if (maxBatchTokens < 0) {
            throw new IllegalArgumentException("max batch tokens must not be negative, got " + maxBatchTokens);
        }
        Objects.requireNonNull(rowsFor, "rowsFor");
    }

    /** Batches of at most {@code batchSize} sequences, no other bound. */
    public static LengthBatching of(int batchSize) {
        return new LengthBatching(batchSize, 0, len -> batchSize);
    }

    /** Runs {@code sequences} (each non-empty) through {@code encoder} in length-sorted packed batches. */
    public void run(Encoder encoder, List<int[]> sequences, Handler handler) {
        forEachBatch(sequences, (inputs, batch) -> {
            PackedOutput out = encoder.forward(PackedInput.of(batch));
            for (int r = 0; r < inputs.length; r++) {
                handler.accept(inputs[r], out, r);
            }
        });
    }

    /** Cuts {@code sequences} into this batching's batches, longest first, and hands each over in turn. */
    public void forEachBatch(List<int[]> sequences, BatchHandler handler) {
        int n = sequences.size();
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        // stable: equal lengths keep the caller's order
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> sequences.get(i).length).reversed());
        for (int from = 0; from < n; ) {
            int longest = sequences.get(order[from]).length;
            int rows = Math.max(1, Math.min(Math.min(batchSize, rowsFor.applyAsInt(longest)), n - from));
            if (maxBatchTokens > 0) {
                rows = Math.max(1, Math.min(rows, maxBatchTokens / Math.max(1, longest)));
            }
            int[] inputs = new int[rows];
            List<int[]> batch = new ArrayList<>(rows);
            for (int r = 0; r < rows; r++) {
                inputs[r] = order[from + r];
                batch.add(sequences.get(inputs[r]));
            }
            handler.accept(inputs, batch);
            from += rows;
        }
    }
}
