package dev.xlmr.model;

/**
 * The role of anything that runs an XLM-R checkpoint: a batch in, named outputs out, in two forms. The packed form
 * ({@link #forward(PackedInput)}) takes the real tokens of every sequence concatenated with their cumulative offsets
 * and gives per-token outputs on the same offsets: nothing is padded, which is what the pipelines run. The padded
 * form ({@link #forward(Batch)}) takes rows padded to one length with an attention mask, as transformers does. The
 * reference {@link XlmRobertaModel} implements the padded form and gets the packed one by padding (the plain
 * reference of it); a faster engine runs packed natively, and is tested against it.
 *
 * <pre>{@code
 * try (Encoder e = XlmRobertaModel.load(Path.of("xlmr-seqcls"))) {
 *     NdArray logits = e.forward(Batch.of(ids, mask, null)).get("logits");
 *     PackedOutput p = e.forward(PackedInput.of(List.of(ids1, ids2)));   // ids1, ids2 of any lengths
 *     float[] second = p.sequence("logits", 1);
 * }
 * }</pre>
 */
public interface Encoder extends AutoCloseable {
    /** The configuration it runs. */
    ModelConfig config();

    /**
     * Runs the batch through the model.
     *
     * @throws IllegalArgumentException for ids outside the vocabulary, sequences that are too long,
     *     or a batch that does not suit the head (multiple choice needs choices)
     */
    ModelOutput forward(Batch batch);

    /**
     * Runs packed sequences through the model: per-token outputs come packed on {@code input}'s offsets, per-sequence
     * ones one row per sequence (see {@link PackedOutput}). This default pads the input, runs {@link #forward(Batch)}
     * and drops the padded positions: the plain reference that a native packed implementation must equal.
     *
     * @throws IllegalArgumentException as {@link #forward(Batch)}, naming the sequence
     */
    default PackedOutput forward(PackedInput input) {
        input.checkFor(config());
        return PackedOutput.unpad(forward(input.padded(config().padTokenId())), input, config().head());
    }

    /** Releases the weights. */
    @Override
    void close();
}
