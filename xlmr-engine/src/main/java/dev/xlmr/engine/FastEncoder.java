package dev.xlmr.engine;

import dev.xlmr.model.Batch;
import dev.xlmr.model.Encoder;
import dev.xlmr.model.LengthBatching;
import dev.xlmr.model.ModelConfig;
import dev.xlmr.model.ModelOutput;
import dev.xlmr.model.NdArray;
import dev.xlmr.model.PackedInput;
import dev.xlmr.model.PackedOutput;
import dev.xlmr.model.XlmRobertaModel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The fast XLM-R encoder: the same model as the reference {@link XlmRobertaModel}, run with packed
 * variable-length execution on a {@link Kernels} provider. The linear layers run on the concatenated
 * real tokens of a batch (padding rows are never computed); attention runs per sequence and head, the
 * (sequence, head) pairs spread over the kernels' thread count. Weights are packed in parallel at load.
 * Outputs at padded positions are zeros (the reference computes values there that nothing should use).
 * {@code -Dxlmr.fast.profile=true} prints the time spent per stage to stderr when the encoder is closed.
 *
 * <p>The parts: {@link EncoderWeights} binds and packs the weights, {@link PackedBatch} holds a batch's real
 * tokens with their cumulative sequence offsets, {@link EncoderLayers} runs the embeddings and layers (attention
 * through {@link Kernels#attention} on a {@link WorkerPool}), {@link Heads} the pooler and task heads, and
 * {@link StageProfile} the timers; this class loads, checks input and ties them together.
 *
 * <pre>{@code
 * try (FastEncoder enc = FastEncoder.load(Path.of("xlm-roberta-base"), FastEncoder.Options.defaults())) {
 *     ModelOutput out = enc.forward(Batch.of(ids, mask, null));          // drop-in for the reference
 *     PackedOutput packed = enc.forward(PackedInput.of(List.of(ids1, ids2))); // no padding at all
 *     float[][] hidden = enc.encodeAll(List.of(ids1, ids2, ids3), 32);   // length-aware batching
 * }
 * }</pre>
 */
public final class FastEncoder implements Encoder {

    /**
     * @param kernels   provider name ({@code auto}, {@code onednn}, {@code vector}, {@code native}, {@code scalar})
     * @param threads   threads of the kernels
     * @param precision storage precision of the encoder's linear weights (activations are fp32)
     */
    public record Options(String kernels, int threads, Precision precision) {
        public static Options defaults() {
            return new Options("auto", KernelProvider.defaultThreads(), Precision.FP32);
        }

        public Options kernels(String k) {
            return new Options(k, threads, precision);
        }

        public Options threads(int t) {
            return new Options(kernels, t, precision);
        }

        public Options precision(Precision p) {
            return new Options(kernels, threads, p);
        }
    }

    private final XlmRobertaModel reference; // owns the mapped weights
    private final ModelConfig config;
    private boolean closed; // guarded by this
    private final Kernels k;
    private final boolean ownsKernels;
    private final int h;
    private final EncoderLayers layers;
    private final Heads heads;
    private final StageProfile profile = new StageProfile();

    /** Loads a model folder (memory-mapped) and packs its weights for the chosen kernels. */
    public static FastEncoder load(Path dir, Options options) {
        // the kernels start up (Vector API warm-up, or loading OpenBLAS) while the checkpoint is opened
        CompletableFuture<Kernels> kernels = CompletableFuture.supplyAsync(
                () -> KernelProvider.create(options.kernels(), options.threads()),
                r -> Thread.ofPlatform().daemon().name("xlmr-kernels-init").start(r));
        XlmRobertaModel ref;
        try {
            ref = XlmRobertaModel.load(dir);
        } catch (RuntimeException e) {
            kernels.thenAccept(Kernels::close);
            throw e;
        }
        try {
            return new FastEncoder(ref, join(kernels), true, options.precision(), 0);
        } catch (RuntimeException | Error e) {
            ref.close();
            kernels.thenAccept(Kernels::close);
            throw e;
        }
    }

    private static <T> T join(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            if (e.getCause() instanceof Error er) {
                throw er;
            }
            throw e;
        }
    }

    /**
     * Runs an already loaded reference model fast on kernels of its own (made from {@code options} and
     * closed with the encoder). The encoder takes ownership of {@code reference}.
     */
    public static FastEncoder wrap(XlmRobertaModel reference, Options options) {
        Kernels kernels = null;
        try {
            kernels = KernelProvider.create(options.kernels(), options.threads());
            return new FastEncoder(reference, kernels, true, options.precision(), 0);
        } catch (RuntimeException | Error e) {
            if (kernels != null) {
                kernels.close();
            }
            reference.close();
            throw e;
        }
    }

    /**
     * Runs an already loaded reference model fast. The encoder takes ownership of {@code reference}
     * (closes it); {@code kernels} stay the caller's.
     */
    public FastEncoder(XlmRobertaModel reference, Kernels kernels, Precision precision) {
        this(reference, kernels, false, precision, 0);
    }

    /** For tests: {@code attentionThreads} > 0 overrides the kernels' thread count for attention. */
    FastEncoder(XlmRobertaModel reference, Kernels kernels, Precision precision, int attentionThreads) {
        this(reference, kernels, false, precision, attentionThreads);
    }

    private FastEncoder(XlmRobertaModel reference, Kernels kernels, boolean ownsKernels, Precision precision,
                        int attentionThreads) {
        this.reference = reference;
        this.config = reference.config();
        this.k = kernels;
        this.ownsKernels = ownsKernels;
        this.h = config.hiddenSize();
        // attention's (sequence, head) pairs: the kernels' thread count, at most the cores
        int threads = attentionThreads > 0 ? attentionThreads
                : Math.max(1, Math.min(kernels.threads(), Runtime.getRuntime().availableProcessors()));
        EncoderWeights weights = new EncoderWeights(reference, kernels, precision,
                threads == 1 ? Math.min(2, Runtime.getRuntime().availableProcessors()) : threads);
        this.layers = new EncoderLayers(config, kernels, weights, threads, profile);
        this.heads = new Heads(config, kernels, weights);
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    /** The kernels in use, e.g. for {@code description()} in logs. */
    public Kernels kernels() {
        return k;
    }

    /**
     * Runs sequences of real token ids (no padding) and returns each one's last hidden state
     * ({@code [len * hidden]}) in input order: the layers only, no head, in the batches of
     * {@link LengthBatching#of LengthBatching.of(batchSize)} (longest first, at most {@code batchSize} sequences),
     * the batching every door uses.
     */
    public float[][] encodeAll(List<int[]> sequences, int batchSize) {
        float[][] out = new float[sequences.size()][];
        LengthBatching.of(batchSize).forEachBatch(sequences, (inputs, batch) -> {
            float[][] hidden = encodePacked(batch.toArray(int[][]::new));
            for (int r = 0; r < inputs.length; r++) {
                out[inputs[r]] = hidden[r];
            }
        });
        return out;
    }

    /** Last hidden states of already unpadded sequences, each {@code [len * hidden]}: the layers only, no head. */
    public synchronized float[][] encodePacked(int[][] seqs) {
        PackedInput in = PackedInput.of(Arrays.asList(seqs));
        in.checkFor(config);
        PackedBatch p = PackedBatch.ofPacked(in.inputIds(), in.cuSeqlens(), null, config.padTokenId());
        float[] x = run(p);
        float[][] out = new float[seqs.length][];
        for (int s = 0; s < seqs.length; s++) {
            out[s] = Arrays.copyOfRange(x, p.start()[s] * h, p.start()[s + 1] * h);
        }
        return out;
    }

    /**
     * The last hidden state of a padded batch as transformers computes it, padded positions included:
     * {@code [rows][seq][hidden]}. A padded position attends to the row's real tokens (which do not attend to it),
     * as under transformers' attention mask; its values are what the reference gives there. {@link #forward} leaves
     * them at zero, which every task wants; this is for callers that use them on purpose (the DISCOVER module's
     * padded batch mean). Not for decoders.
     */
    public synchronized NdArray paddedLastHiddenState(Batch batch) {
        batch.checkFor(config);
        if (config.isDecoder() || batch.isMultipleChoice()) {
            throw new IllegalArgumentException("padded hidden states are for encoder batches without choices");
        }
        int rows = batch.rows();
        int seq = batch.sequenceLength();
        PackedBatch p = PackedBatch.keepingPadding(batch.inputIds(), batch.attentionMask(), batch.tokenTypeIds(),
                config.padTokenId());
        float[] x = run(p);
        return new NdArray(new int[] {rows, seq, h}, p.unpack(x, h, rows, seq));
    }

    /**
     * Runs packed sequences natively: the ids go to the layers as they are (no padding, no copy), per-token outputs
     * come back packed on the same offsets.
     */
    @Override
    public synchronized PackedOutput forward(PackedInput input) {
        input.checkFor(config);
        PackedBatch p = PackedBatch.ofPacked(input.inputIds(), input.cuSeqlens(), input.tokenTypeIds(),
                config.padTokenId());
        Heads.Outputs out = heads.packed(run(p), p, input.choices());
        return new PackedOutput(input.cuSeqlens(), out.all(), out.perToken());
    }

    @Override
    public synchronized ModelOutput forward(Batch batch) {
        batch.checkFor(config);
        PackedBatch p = PackedBatch.of(batch.inputIds(), batch.attentionMask(), batch.tokenTypeIds(),
                config.padTokenId());
        float[] x = run(p);
        return new ModelOutput(heads.outputs(x, p, batch.rows(), batch.sequenceLength(), batch.choices()));
    }

    /**
     * The layers on one packed batch. Every forward and close hold this encoder's lock, so a close waits for the
     * pass in flight; a pass asked for after close is refused here rather than run on freed native weights (a
     * server's worker can still hold a request while the shutdown hook closes the model).
     */
    private float[] run(PackedBatch p) {
        if (closed) {
            throw new IllegalStateException("the encoder is closed");
        }
        return layers.run(p);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        profile.print(k.name(), layers.layers());
        layers.close();
        if (ownsKernels) {
            k.close();
        } else {
            k.drain(); // the caller's kernels may still be repacking weights that read the mapping closed below
        }
        reference.close();
    }
}
