/**
 * Fine-tuning XLM-R in Java: a per-op autograd ({@link dev.xlmr.train.Fn} on a {@link dev.xlmr.train.Tape}),
 * the backward pass of the encoder and every head ({@link dev.xlmr.train.TrainableModel}) with
 * train-mode {@link dev.xlmr.train.Dropout}, torch.optim.AdamW with Trainer's schedules and clipping
 * ({@link dev.xlmr.train.AdamW}, {@link dev.xlmr.train.Schedule}), the replay of reference PyTorch
 * runs ({@link dev.xlmr.train.Replay}), and the trainer people use ({@link dev.xlmr.train.Trainer}:
 * task data files, evaluation metrics, checkpoints, Hugging Face output folders). The float64
 * {@link dev.xlmr.train.Fn} ops are the reference (finite-difference checks, replays);
 * the trainer's default is the fp32 path, {@link dev.xlmr.train.FastModel} on
 * {@link dev.xlmr.train.FVar}s with {@link dev.xlmr.train.FastAdamW}: fp32 master weights,
 * gradients and moments, packed sequences, the engine's kernels, tested against the reference.
 * {@link dev.xlmr.train.Fp32Linear} and {@link dev.xlmr.train.Fp32Attention} run the reference's
 * matrix products in fp32 ({@code --fp32-matmul}).
 *
 * <pre>{@code
 * Replay.Result r = Replay.run(Path.of("case"), TrainSpec.load(Path.of("case/train.json")));
 * Trainer.Result t = new Trainer(Path.of("xlm-roberta-base"), Task.TEXT_CLASSIFICATION, new TrainOptions())
 *     .train(Path.of("train.jsonl"), Path.of("dev.jsonl"), Path.of("out"), null);
 * }</pre>
 */
package dev.xlmr.train;
