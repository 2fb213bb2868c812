/**
 * XLM-RoBERTa checkpoints and the reference fp32 forward pass.
 *
 * <pre>{@code
 * try (XlmRobertaModel model = XlmRobertaModel.load(Path.of("xlmr-tokcls"))) {
 *     ModelOutput out = model.forward(new int[][] {{0, 581, 9, 2}}, null, null);
 *     NdArray logits = out.get("logits"); // [batch][seq][num_labels]
 * }
 * }</pre>
 *
 * <ul>
 *   <li>{@link dev.xlmr.model.ModelConfig}: the config.json fields that change the math.</li>
 *   <li>{@link dev.xlmr.model.Weights}, {@link dev.xlmr.model.Tensor}: memory-mapped safetensors
 *       (single or sharded) and pytorch_model.bin (read by a restricted unpickler).</li>
 *   <li>{@link dev.xlmr.model.Encoder}: the role a model plays, batch in, named outputs out, in two forms:
 *       packed ({@link dev.xlmr.model.PackedInput}: token ids with cumulative sequence offsets, in;
 *       {@link dev.xlmr.model.PackedOutput} on the same offsets, out; no padding) and padded
 *       ({@link dev.xlmr.model.Batch} in, {@link dev.xlmr.model.ModelOutput} out);
 *       {@link dev.xlmr.model.XlmRobertaModel} is the reference implementation (its packed form pads) and
 *       {@link dev.xlmr.model.Ops} its building blocks.</li>
 *   <li>{@link dev.xlmr.model.LengthBatching}: the project's one length-aware batching of token id sequences
 *       into packed batches (the pipelines, Spark and the fast engine's {@code encodeAll} use it).</li>
 * </ul>
 */
package dev.xlmr.model;
