/**
 * Fine-tuning XLM-R in Java: a per-op autograd ({@link dev.xlmr.train.Fn} on a {@link dev.xlmr.train.Tape}),
 * the backward pass of the encoder and every head ({@link dev.xlmr.train.TrainableModel}),
 * torch.optim.AdamW with Trainer's schedules and clipping ({@link dev.xlmr.train.AdamW},
 * {@link dev.xlmr.train.Schedule}), and the replay of reference PyTorch runs ({@link dev.xlmr.train.Replay}).
 *
 * <pre>{@code
 * Replay.Result r = Replay.run(Path.of("case"), TrainSpec.load(Path.of("case/train.json")));
 * }</pre>
 */
package dev.xlmr.train;
