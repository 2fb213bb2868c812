/**
 * The tasks of Hugging Face's {@code pipeline(...)} on XLM-R models, with the same answers: one class
 * per task ({@link dev.xlmr.pipelines.FillMaskPipeline}, {@link dev.xlmr.pipelines.EmbeddingPipeline},
 * {@link dev.xlmr.pipelines.TextClassificationPipeline},
 * {@link dev.xlmr.pipelines.ZeroShotClassificationPipeline},
 * {@link dev.xlmr.pipelines.TokenClassificationPipeline},
 * {@link dev.xlmr.pipelines.QuestionAnsweringPipeline}, {@link dev.xlmr.pipelines.MultipleChoicePipeline},
 * {@link dev.xlmr.pipelines.RerankPipeline}), each loaded from a folder or hub id or made from an
 * {@link dev.xlmr.model.Encoder} and its tokenizer. Every pipeline runs its encodings through
 * {@link dev.xlmr.model.LengthBatching}, the project's one length-aware batching: longest first, packed
 * batches ({@link dev.xlmr.model.PackedInput}, no padding) through {@link dev.xlmr.model.Encoder#forward(dev.xlmr.model.PackedInput)},
 * and its output layer (pooling, token outputs, heads' logits) reads the packed outputs.
 *
 * <pre>{@code
 * try (TextClassificationPipeline clf = TextClassificationPipeline.load("testdata/xlmr-seqcls")) {
 *     TextClassificationPipeline.Label best = clf.classify("Hello world!");
 * }
 * }</pre>
 */
package dev.xlmr.pipelines;
