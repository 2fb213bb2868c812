package dev.xlmr.model;

/**
 * Token ids of a batch of sequences, padded to one length, with their attention mask (1 = token,
 * 0 = padding) and optional token type ids. For multiple choice, {@link #ofChoices} flattens
 * {@code [batch][choices][seq]} into {@code batch * choices} rows and remembers {@code choices}.
 * The constructor checks the shapes; the model checks the ids against its vocabulary.
 *
 * <pre>{@code
 * Batch b = Batch.of(new int[][] {{0, 35378, 2}}, new int[][] {{1, 1, 1}}, null);
 * }</pre>
 *
 * @param inputIds [rows][seq]
 * @param attentionMask [rows][seq] of 0/1
 * @param tokenTypeIds [rows][seq], or null for all zeros
 * @param choices choices per example for multiple choice (rows = batch * choices), else 0
 */
public record Batch(int[][] inputIds, int[][] attentionMask, int[][] tokenTypeIds, int choices) {

    public Batch {
        if (inputIds == null || inputIds.length == 0) {
            throw new IllegalArgumentException("empty batch: input_ids has no sequences");
        }
        int seq = -1;
        for (int i = 0; i < inputIds.length; i++) {
            if (inputIds[i] == null || inputIds[i].length == 0) {
                throw new IllegalArgumentException("input_ids[" + i + "] is empty");
            }
            if (seq >= 0 && inputIds[i].length != seq) {
                throw new IllegalArgumentException("ragged batch: input_ids[" + i + "] has " + inputIds[i].length
                        + " tokens, input_ids[0] has " + seq + " (pad the batch to one length)");
            }
            seq = inputIds[i].length;
        }
        if (attentionMask == null) {
            attentionMask = new int[inputIds.length][seq];
            for (int[] row : attentionMask) {
                java.util.Arrays.fill(row, 1);
            }
        }
        sameShape("attention_mask", attentionMask, inputIds.length, seq);
        for (int i = 0; i < attentionMask.length; i++) {
            for (int j = 0; j < seq; j++) {
                if (attentionMask[i][j] != 0 && attentionMask[i][j] != 1) {
                    throw new IllegalArgumentException("attention_mask[" + i + "][" + j + "] is "
                            + attentionMask[i][j] + "; it must be 0 or 1");
                }
            }
        }
        if (tokenTypeIds != null) {
            sameShape("token_type_ids", tokenTypeIds, inputIds.length, seq);
        }
        if (choices < 0 || choices > 0 && inputIds.length % choices != 0) {
            throw new IllegalArgumentException("bad number of choices " + choices);
        }
    }

    private static void sameShape(String name, int[][] a, int rows, int seq) {
        if (a.length != rows) {
            throw new IllegalArgumentException(name + " has " + a.length + " sequences, input_ids has " + rows);
        }
        for (int i = 0; i < rows; i++) {
            if (a[i] == null || a[i].length != seq) {
                throw new IllegalArgumentException(name + "[" + i + "] has " + (a[i] == null ? 0 : a[i].length)
                        + " values, input_ids[" + i + "] has " + seq);
            }
        }
    }

    /** A plain batch {@code [batch][seq]}; {@code attentionMask} null means all ones. */
    public static Batch of(int[][] inputIds, int[][] attentionMask, int[][] tokenTypeIds) {
        return new Batch(inputIds, attentionMask, tokenTypeIds, 0);
    }

    /** A multiple-choice batch {@code [batch][choices][seq]}, flattened. */
    public static Batch ofChoices(int[][][] inputIds, int[][][] attentionMask, int[][][] tokenTypeIds) {
        if (inputIds == null || inputIds.length == 0) {
            throw new IllegalArgumentException("empty batch: input_ids has no examples");
        }
        int choices = inputIds[0] == null ? 0 : inputIds[0].length;
        if (choices == 0) {
            throw new IllegalArgumentException("input_ids[0] has no choices");
        }
        for (int i = 0; i < inputIds.length; i++) {
            if (inputIds[i] == null || inputIds[i].length != choices) {
                throw new IllegalArgumentException("ragged batch: input_ids[" + i + "] has "
                        + (inputIds[i] == null ? 0 : inputIds[i].length) + " choices, input_ids[0] has " + choices);
            }
        }
        if (attentionMask != null && attentionMask.length != inputIds.length) {
            throw new IllegalArgumentException("attention_mask has " + attentionMask.length
                    + " examples, input_ids has " + inputIds.length);
        }
        if (tokenTypeIds != null && tokenTypeIds.length != inputIds.length) {
            throw new IllegalArgumentException("token_type_ids has " + tokenTypeIds.length
                    + " examples, input_ids has " + inputIds.length);
        }
        return new Batch(flatten(inputIds, choices, "input_ids"), flatten(attentionMask, choices, "attention_mask"),
                flatten(tokenTypeIds, choices, "token_type_ids"), choices);
    }

    private static int[][] flatten(int[][][] a, int choices, String name) {
        if (a == null) {
            return null;
        }
        int[][] out = new int[a.length * choices][];
        for (int i = 0; i < a.length; i++) {
            if (a[i] == null || a[i].length != choices) {
                throw new IllegalArgumentException(name + "[" + i + "] has "
                        + (a[i] == null ? 0 : a[i].length) + " choices, expected " + choices);
            }
            System.arraycopy(a[i], 0, out, i * choices, choices);
        }
        return out;
    }

    /** Rows the encoder runs (batch * choices for multiple choice). */
    public int rows() {
        return inputIds.length;
    }

    /** Tokens per row. */
    public int sequenceLength() {
        return inputIds[0].length;
    }

    /** Whether this is a multiple-choice batch. */
    public boolean isMultipleChoice() {
        return choices > 0;
    }

    /**
     * Checks this batch against a model: the input shape suits its head, the length fits its position
     * embeddings, ids and token types are in range, the outputs fit in memory.
     *
     * @throws IllegalArgumentException naming the first problem
     */
    public void checkFor(ModelConfig config) {
        Batch batch = this;
        boolean mc = config.head() == Head.MULTIPLE_CHOICE;
        if (mc && !batch.isMultipleChoice()) {
            throw new IllegalArgumentException(config.architecture() + " needs inputs shaped [batch][choices][seq]");
        }
        if (!mc && batch.isMultipleChoice()) {
            throw new IllegalArgumentException(config.architecture() + " takes inputs shaped [batch][seq], not choices");
        }
        int seq = batch.sequenceLength();
        if (seq > config.maxSequenceLength()) {
            throw new IllegalArgumentException("sequence of " + seq + " tokens is longer than the model allows ("
                    + config.maxSequenceLength() + " = max_position_embeddings " + config.maxPositionEmbeddings()
                    + " - pad_token_id " + config.padTokenId() + " - 1)");
        }
        long biggest = (long) batch.rows() * seq * Math.max(config.hiddenSize(),
                config.head() == Head.MASKED_LM || config.head() == Head.CAUSAL_LM ? config.vocabSize() : 0);
        if (biggest > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("batch of " + batch.rows() + " x " + seq
                    + " tokens is too large for one forward pass; split it");
        }
        for (int r = 0; r < batch.rows(); r++) {
            for (int t = 0; t < seq; t++) {
                int id = batch.inputIds()[r][t];
                if (id < 0 || id >= config.vocabSize()) {
                    throw new IllegalArgumentException("input_ids" + at(batch, r, t) + " = " + id
                            + " is outside the vocabulary (0.." + (config.vocabSize() - 1) + ")");
                }
                if (batch.tokenTypeIds() != null) {
                    int type = batch.tokenTypeIds()[r][t];
                    if (type < 0 || type >= config.typeVocabSize()) {
                        throw new IllegalArgumentException("token_type_ids" + at(batch, r, t) + " = " + type
                                + " is outside 0.." + (config.typeVocabSize() - 1));
                    }
                }
            }
        }
    }

    private static String at(Batch b, int row, int t) {
        return b.isMultipleChoice()
                ? "[" + row / b.choices() + "][" + row % b.choices() + "][" + t + "]"
                : "[" + row + "][" + t + "]";
    }

}
