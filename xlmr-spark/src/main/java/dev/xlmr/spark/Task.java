package dev.xlmr.spark;

import java.io.Serializable;
import java.util.List;

/**
 * What a transformer ships to the executors: the model's name and the options, a few hundred bytes
 * (never the weights). {@link #open()} runs on the executor and gets the JVM's shared pipeline.
 */
abstract class Task implements Serializable {
    private static final long serialVersionUID = 1L;

    final String model;
    final String revision;
    final int batchSize;
    final int maxLength;

    Task(String model, String revision, int batchSize, int maxLength) {
        this.model = model;
        this.revision = revision;
        this.batchSize = batchSize;
        this.maxLength = maxLength;
    }

    /** The computation on this JVM's cached model (loads it on first use). */
    abstract Batcher open();

    /** The result for an empty or blank text: an empty array, or null for single-value results. */
    abstract Object emptyResult();

    /** Computes results on an executor. */
    interface Batcher {
        /**
         * Results (Spark external values) for non-blank texts, in their order; runs them in batches of
         * {@code batchSize} texts sorted by token length.
         *
         * @param pairs the second texts (elements may be null), or null when there is no pair column
         */
        Object[] apply(List<String> texts, List<String> pairs);
    }
}
