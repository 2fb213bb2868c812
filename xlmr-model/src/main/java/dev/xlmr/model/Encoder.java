package dev.xlmr.model;

/**
 * The role of anything that runs an XLM-R checkpoint: a batch in, named outputs out. The
 * reference {@link XlmRobertaModel} implements it; a faster engine can too, and be tested against it.
 *
 * <pre>{@code
 * try (Encoder e = XlmRobertaModel.load(Path.of("xlmr-seqcls"))) {
 *     NdArray logits = e.forward(Batch.of(ids, mask, null)).get("logits");
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

    /** Releases the weights. */
    @Override
    void close();
}
