package dev.xlmr.model;

import java.util.Arrays;
import java.util.List;

/**
 * Sequences of real tokens (no padding), concatenated: sequence {@code s} is tokens
 * {@code [cuSeqlens[s], cuSeqlens[s + 1])} of {@code inputIds}, the cumulative sequence lengths of
 * text-embeddings-inference and flash attention ({@code cu_seqlens}). {@link Encoder#forward(PackedInput)} takes it
 * and gives a {@link PackedOutput} on the same offsets. For multiple choice the sequences are
 * {@code batch * choices} in example order, {@code choices} per example.
 *
 * <pre>{@code
 * PackedInput in = PackedInput.of(List.of(new int[] {0, 35378, 2}, new int[] {0, 6, 2, 2, 7, 2}));
 * // in.inputIds() is {0, 35378, 2, 0, 6, 2, 2, 7, 2}; in.cuSeqlens() is {0, 3, 9}
 * }</pre>
 *
 * @param inputIds     the tokens of every sequence, one after another
 * @param cuSeqlens    {@code sequences + 1} offsets into {@code inputIds}: 0 first, {@code inputIds.length} last,
 *                     strictly increasing (no sequence is empty)
 * @param tokenTypeIds a type per token, or null for all zeros
 * @param choices      choices per example for multiple choice, else 0
 */
public record PackedInput(int[] inputIds, int[] cuSeqlens, int[] tokenTypeIds, int choices) {

    public PackedInput {
        if (inputIds == null || cuSeqlens == null) {
            throw new IllegalArgumentException("packed input needs input_ids and cu_seqlens");
        }
        if (cuSeqlens.length < 2) {
            throw new IllegalArgumentException("empty batch: cu_seqlens has no sequences");
        }
        if (cuSeqlens[0] != 0) {
            throw new IllegalArgumentException("cu_seqlens[0] is " + cuSeqlens[0] + "; it must be 0");
        }
        for (int s = 1; s < cuSeqlens.length; s++) {
            if (cuSeqlens[s] <= cuSeqlens[s - 1]) {
                throw new IllegalArgumentException("cu_seqlens[" + s + "] = " + cuSeqlens[s] + " is not above cu_seqlens["
                        + (s - 1) + "] = " + cuSeqlens[s - 1] + " (sequence " + (s - 1) + " would be empty)");
            }
        }
        if (cuSeqlens[cuSeqlens.length - 1] != inputIds.length) {
            throw new IllegalArgumentException("cu_seqlens ends at " + cuSeqlens[cuSeqlens.length - 1]
                    + " but input_ids has " + inputIds.length + " tokens");
        }
        if (tokenTypeIds != null && tokenTypeIds.length != inputIds.length) {
            throw new IllegalArgumentException("token_type_ids has " + tokenTypeIds.length + " values, input_ids has "
                    + inputIds.length);
        }
        int sequences = cuSeqlens.length - 1;
        if (choices < 0 || choices > 0 && sequences % choices != 0) {
            throw new IllegalArgumentException("bad number of choices " + choices + " for " + sequences + " sequences");
        }
    }

    /** Sequences of token ids, packed in the order given. */
    public static PackedInput of(List<int[]> sequences) {
        return of(sequences, null, 0);
    }

    /**
     * Sequences with their token types (null: all zeros), {@code choices} per example for multiple choice (else
     * 0). A null or empty sequence is refused with its index.
     */
    public static PackedInput of(List<int[]> sequences, List<int[]> tokenTypes, int choices) {
        if (sequences == null || sequences.isEmpty()) {
            throw new IllegalArgumentException("empty batch: no sequences");
        }
        if (tokenTypes != null && tokenTypes.size() != sequences.size()) {
            throw new IllegalArgumentException("token_type_ids has " + tokenTypes.size() + " sequences, input_ids has "
                    + sequences.size());
        }
        int[] cu = new int[sequences.size() + 1];
        for (int s = 0; s < sequences.size(); s++) {
            int[] seq = sequences.get(s);
            if (seq == null || seq.length == 0) {
                throw new IllegalArgumentException("input_ids[" + s + "] is empty");
            }
            if (tokenTypes != null && (tokenTypes.get(s) == null || tokenTypes.get(s).length != seq.length)) {
                throw new IllegalArgumentException("token_type_ids[" + s + "] has "
                        + (tokenTypes.get(s) == null ? 0 : tokenTypes.get(s).length) + " values, input_ids[" + s
                        + "] has " + seq.length);
            }
            cu[s + 1] = Math.addExact(cu[s], seq.length);
        }
        int[] ids = new int[cu[sequences.size()]];
        int[] types = tokenTypes == null ? null : new int[ids.length];
        for (int s = 0; s < sequences.size(); s++) {
            System.arraycopy(sequences.get(s), 0, ids, cu[s], sequences.get(s).length);
            if (types != null) {
                System.arraycopy(tokenTypes.get(s), 0, types, cu[s], sequences.get(s).length);
            }
        }
        return new PackedInput(ids, cu, types, choices);
    }

    /** How many sequences (examples times choices for multiple choice). */
    public int sequences() {
        return cuSeqlens.length - 1;
    }

    /** Tokens of all sequences together. */
    public int tokens() {
        return inputIds.length;
    }

    /** Where sequence {@code s} starts in {@link #inputIds()}. */
    public int start(int s) {
        return cuSeqlens[s];
    }

    /** Tokens of sequence {@code s}. */
    public int length(int s) {
        return cuSeqlens[s + 1] - cuSeqlens[s];
    }

    /** The longest sequence's tokens. */
    public int longest() {
        int m = 0;
        for (int s = 0; s < sequences(); s++) {
            m = Math.max(m, length(s));
        }
        return m;
    }

    /** Whether this is a multiple-choice batch. */
    public boolean isMultipleChoice() {
        return choices > 0;
    }

    /**
     * Checks this input against a model as {@link Batch#checkFor} checks a padded one: the shape suits the head,
     * every sequence fits the position embeddings, ids and token types are in range, the outputs fit in memory.
     *
     * @throws IllegalArgumentException naming the first problem
     */
    public void checkFor(ModelConfig config) {
        boolean mc = config.head() == Head.MULTIPLE_CHOICE;
        if (mc && !isMultipleChoice()) {
            throw new IllegalArgumentException(config.architecture() + " needs choices (PackedInput.choices > 0)");
        }
        if (!mc && isMultipleChoice()) {
            throw new IllegalArgumentException(config.architecture() + " takes sequences, not choices");
        }
        for (int s = 0; s < sequences(); s++) {
            if (length(s) > config.maxSequenceLength()) {
                throw new IllegalArgumentException("sequence " + s + " of " + length(s)
                        + " tokens is longer than the model allows (" + config.maxSequenceLength()
                        + " = max_position_embeddings " + config.maxPositionEmbeddings() + " - pad_token_id "
                        + config.padTokenId() + " - 1)");
            }
        }
        long biggest = (long) tokens() * Math.max(config.hiddenSize(),
                config.head() == Head.MASKED_LM || config.head() == Head.CAUSAL_LM ? config.vocabSize() : 0);
        if (biggest > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("batch of " + tokens() + " tokens is too large for one forward pass; split it");
        }
        for (int i = 0; i < inputIds.length; i++) {
            int id = inputIds[i];
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("input_ids" + at(i) + " = " + id + " is outside the vocabulary (0.."
                        + (config.vocabSize() - 1) + ")");
            }
            if (tokenTypeIds != null && (tokenTypeIds[i] < 0 || tokenTypeIds[i] >= config.typeVocabSize())) {
                throw new IllegalArgumentException("token_type_ids" + at(i) + " = " + tokenTypeIds[i] + " is outside 0.."
                        + (config.typeVocabSize() - 1));
            }
        }
    }

    /** {@code [sequence][position]} of a packed token index. */
    private String at(int token) {
        int s = Arrays.binarySearch(cuSeqlens, token);
        s = s >= 0 ? s : -s - 2;
        return "[" + s + "][" + (token - cuSeqlens[s]) + "]";
    }

    /**
     * The same sequences padded to the longest with {@code padId} (right padding, attention mask 0 there), as
     * {@link Batch#of} or {@link Batch#ofChoices} takes them.
     */
    public Batch padded(int padId) {
        int rows = sequences();
        int seq = longest();
        int[][] ids = new int[rows][seq];
        int[][] mask = new int[rows][seq];
        int[][] types = tokenTypeIds == null ? null : new int[rows][seq];
        for (int s = 0; s < rows; s++) {
            Arrays.fill(ids[s], padId);
            System.arraycopy(inputIds, start(s), ids[s], 0, length(s));
            Arrays.fill(mask[s], 0, length(s), 1);
            if (types != null) {
                System.arraycopy(tokenTypeIds, start(s), types[s], 0, length(s));
            }
        }
        return new Batch(ids, mask, types, choices);
    }
}
