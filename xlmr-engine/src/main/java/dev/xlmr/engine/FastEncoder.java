package dev.xlmr.engine;

import dev.xlmr.model.Activation;
import dev.xlmr.model.Batch;
import dev.xlmr.model.Encoder;
import dev.xlmr.model.Head;
import dev.xlmr.model.ModelConfig;
import dev.xlmr.model.ModelOutput;
import dev.xlmr.model.NdArray;
import dev.xlmr.model.Ops;
import dev.xlmr.model.Tensor;
import dev.xlmr.model.XlmRobertaModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * The fast XLM-R encoder: the same model as the reference {@link XlmRobertaModel}, run with packed
 * variable-length execution on a {@link Kernels} provider. The linear layers run on the concatenated
 * real tokens of a batch (padding rows are never computed); attention runs per sequence and head, the
 * (sequence, head) pairs spread over the kernels' thread count. Weights are packed in parallel at load.
 * Outputs at padded positions are zeros (the reference computes values there that nothing should use).
 * {@code -Dxlmr.fast.profile=true} prints the time spent per stage to stderr when the encoder is closed.
 *
 * <pre>{@code
 * try (FastEncoder enc = FastEncoder.load(Path.of("xlm-roberta-base"), FastEncoder.Options.defaults())) {
 *     ModelOutput out = enc.forward(Batch.of(ids, mask, null));          // drop-in for the reference
 *     float[][] hidden = enc.encodeAll(List.of(ids1, ids2, ids3), 32);   // length-aware batching
 * }
 * }</pre>
 */
public final class FastEncoder implements Encoder {

    /**
     * @param kernels   provider name ({@code auto}, {@code vector}, {@code native}, {@code scalar})
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

    /** The three attention projections, fused into one matrix in this order. */
    private static final String[] PROJECTIONS = {"query", "key", "value"};
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Stage timers (a constant: no cost when off). */
    private static final boolean PROFILE = Boolean.getBoolean("xlmr.fast.profile");
    private static final String[] STAGES = {"embeddings", "qkv", "attention", "out-proj", "layernorm", "ffn-up",
        "gelu", "ffn-down", "other", "ffn (up, gelu, down)"};
    private static final int EMB = 0, QKV = 1, ATT = 2, OUT = 3, LN = 4, UP = 5, GELU = 6, DOWN = 7, OTHER = 8, FFN = 9;

    private final XlmRobertaModel reference; // owns the mapped weights
    private final ModelConfig config;
    private final Kernels k;
    private final boolean ownsKernels;
    private final int h;
    private final int heads;
    private final int headSize;
    private final int inter;
    private final float eps;
    private final MemorySegment wordEmb;
    private final float[] posEmb;   // small tables: on the heap, read without per-element segment access
    private final float[] typeEmb;
    private final float[] embLnW;
    private final float[] embLnB;
    private final LayerWeights[] layers;
    private final float[] finalLnW;
    private final float[] finalLnB;
    private final Weights poolerW;
    private final float[] poolerB;
    private final HeadWeights head;
    private final Scratch scratch = new Scratch();
    /** Threads for attention across (sequence, head) pairs: the kernels' count, at most the cores. */
    private final int attentionThreads;
    private ForkJoinPool pool; // attentionThreads - 1 workers, made on first use; the caller works too
    private final long[] stageNanos = new long[STAGES.length];

    private record LayerWeights(Weights qkv, float[] qkvB, Weights o, float[] oB, float[] ln1W, float[] ln1B,
                                Weights up, float[] upB, Weights down, float[] downB, float[] ln2W, float[] ln2B) {}

    /** Head weights: dense (+ optional LayerNorm) then the output projection. */
    private record HeadWeights(Weights dense, float[] denseB, float[] normW, float[] normB, Weights out, float[] outB,
                               int outSize) {}

    /** Reused buffers, grown to the largest batch seen. */
    private static final class Scratch {
        float[] x = new float[0];
        float[] qkv = new float[0];
        float[] ctx = new float[0];
        float[] tmp = new float[0];
        float[] up = new float[0];
        float[][] scores = new float[0][];

        static float[] grow(float[] a, long n) {
            if (n > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("batch too large for one forward pass (" + n + " floats); split it");
            }
            return a.length >= n ? a : new float[(int) Math.max(n, Math.min(Integer.MAX_VALUE - 8, a.length * 3L / 2))];
        }
    }

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
            return new FastEncoder(ref, join(kernels), true, options.precision());
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
            return new FastEncoder(reference, kernels, true, options.precision());
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

    private FastEncoder(XlmRobertaModel reference, Kernels kernels, boolean ownsKernels, Precision precision) {
        this(reference, kernels, ownsKernels, precision, 0);
    }

    private FastEncoder(XlmRobertaModel reference, Kernels kernels, boolean ownsKernels, Precision precision,
                        int attentionThreads) {
        this.reference = reference;
        this.config = reference.config();
        this.k = kernels;
        this.ownsKernels = ownsKernels;
        this.h = config.hiddenSize();
        this.heads = config.numAttentionHeads();
        this.headSize = config.headSize();
        this.inter = config.intermediateSize();
        this.eps = (float) config.layerNormEps();
        this.attentionThreads = attentionThreads > 0 ? attentionThreads
                : Math.max(1, Math.min(kernels.threads(), Runtime.getRuntime().availableProcessors()));
        Map<String, Tensor> t = reference.tensors();
        wordEmb = t.get("embeddings.word_embeddings.weight").segment();
        posEmb = vec(t, "embeddings.position_embeddings.weight");
        typeEmb = vec(t, "embeddings.token_type_embeddings.weight");
        boolean xl = config.preLayerNorm();
        embLnW = xl ? null : vec(t, "embeddings.LayerNorm.weight");
        embLnB = xl ? null : vec(t, "embeddings.LayerNorm.bias");
        // Packing (a copy into the kernels' layout, or a rounding to bf16/int8) is most of the load time:
        // every matrix is one job, biggest first, spread over the cores.
        Packer pk = new Packer();
        layers = new LayerWeights[config.numHiddenLayers()];
        Weights[][] lw = new Weights[layers.length][4];
        for (int i = 0; i < layers.length; i++) {
            String p = "encoder.layer." + i + ".";
            Weights[] w = lw[i];
            pk.add(() -> w[2] = mat(t, p + "intermediate.dense.weight", inter, h, precision), (long) inter * h);
            pk.add(() -> w[3] = mat(t, p + "output.dense.weight", h, inter, precision), (long) inter * h);
            pk.add(() -> {
                // one native copy: kernels that use native fp32 in place keep it (and so keep it alive)
                long bytes = 4L * h * h;
                MemorySegment qkv = Arena.ofAuto().allocate(3 * bytes, 64);
                for (int j = 0; j < 3; j++) {
                    MemorySegment.copy(t.get(p + "attention.self." + PROJECTIONS[j] + ".weight").segment(), 0, qkv, j * bytes, bytes);
                }
                w[0] = k.pack(qkv, 3 * h, h, precision);
            }, 3L * h * h);
            pk.add(() -> w[1] = mat(t, p + "attention.output.dense.weight", h, h, precision), (long) h * h);
        }
        boolean pooler = t.containsKey("pooler.dense.weight");
        Weights[] extra = new Weights[3];
        if (pooler) {
            pk.add(() -> extra[0] = mat(t, "pooler.dense.weight", h, h, Precision.FP32), (long) h * h);
        }
        int labels = config.numLabels();
        String headDense = switch (config.head()) {
            case MASKED_LM, CAUSAL_LM -> "lm_head.dense.weight";
            case SEQUENCE_CLASSIFICATION -> "classifier.dense.weight";
            default -> null;
        };
        if (headDense != null) {
            pk.add(() -> extra[1] = mat(t, headDense, h, h, Precision.FP32), (long) h * h);
        }
        int headOut = switch (config.head()) {
            case BASE -> 0;
            case MASKED_LM, CAUSAL_LM -> config.vocabSize();
            case SEQUENCE_CLASSIFICATION, TOKEN_CLASSIFICATION -> labels;
            case QUESTION_ANSWERING -> 2;
            case MULTIPLE_CHOICE -> 1;
        };
        String headOutName = switch (config.head()) {
            case BASE -> null;
            case MASKED_LM, CAUSAL_LM -> "lm_head.decoder.weight";
            case SEQUENCE_CLASSIFICATION -> "classifier.out_proj.weight";
            case TOKEN_CLASSIFICATION, MULTIPLE_CHOICE -> "classifier.weight";
            case QUESTION_ANSWERING -> "qa_outputs.weight";
        };
        if (headOutName != null) {
            pk.add(() -> extra[2] = mat(t, headOutName, headOut, h, Precision.FP32), (long) headOut * h);
        }
        pk.run(attentionThreads == 1 ? Math.min(2, Runtime.getRuntime().availableProcessors()) : attentionThreads);
        for (int i = 0; i < layers.length; i++) {
            String p = "encoder.layer." + i + ".";
            String ln1 = xl ? p + "attention.self_attn_layer_norm." : p + "attention.output.LayerNorm.";
            String ln2 = xl ? p + "LayerNorm." : p + "output.LayerNorm.";
            float[] qkvB = new float[3 * h];
            for (int j = 0; j < 3; j++) {
                System.arraycopy(vec(t, p + "attention.self." + PROJECTIONS[j] + ".bias"), 0, qkvB, j * h, h);
            }
            Weights[] w = lw[i];
            layers[i] = new LayerWeights(w[0], qkvB, w[1], vec(t, p + "attention.output.dense.bias"),
                    vec(t, ln1 + "weight"), vec(t, ln1 + "bias"),
                    w[2], vec(t, p + "intermediate.dense.bias"), w[3], vec(t, p + "output.dense.bias"),
                    vec(t, ln2 + "weight"), vec(t, ln2 + "bias"));
        }
        finalLnW = xl ? vec(t, "encoder.LayerNorm.weight") : null;
        finalLnB = xl ? vec(t, "encoder.LayerNorm.bias") : null;
        poolerW = extra[0];
        poolerB = pooler ? vec(t, "pooler.dense.bias") : null;
        head = switch (config.head()) {
            case BASE -> null;
            case MASKED_LM, CAUSAL_LM -> new HeadWeights(extra[1], vec(t, "lm_head.dense.bias"),
                    vec(t, "lm_head.layer_norm.weight"), vec(t, "lm_head.layer_norm.bias"),
                    extra[2], vec(t, "lm_head.bias"), headOut);
            case SEQUENCE_CLASSIFICATION -> new HeadWeights(extra[1], vec(t, "classifier.dense.bias"), null, null,
                    extra[2], vec(t, "classifier.out_proj.bias"), headOut);
            case TOKEN_CLASSIFICATION, MULTIPLE_CHOICE -> new HeadWeights(null, null, null, null,
                    extra[2], vec(t, "classifier.bias"), headOut);
            case QUESTION_ANSWERING -> new HeadWeights(null, null, null, null,
                    extra[2], vec(t, "qa_outputs.bias"), headOut);
        };
    }

    /** Packing jobs run on a few short-lived threads, biggest first; the first failure is rethrown. */
    private static final class Packer {
        private final List<Map.Entry<Runnable, Long>> jobs = new ArrayList<>();

        void add(Runnable job, long size) {
            jobs.add(Map.entry(job, size));
        }

        void run(int threads) {
            jobs.sort(Map.Entry.<Runnable, Long>comparingByValue().reversed());
            AtomicInteger next = new AtomicInteger();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Runnable worker = () -> {
                for (int i; failure.get() == null && (i = next.getAndIncrement()) < jobs.size(); ) {
                    try {
                        jobs.get(i).getKey().run();
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }
            };
            int n = Math.max(1, Math.min(threads, jobs.size()));
            Thread[] helpers = new Thread[n - 1];
            for (int i = 0; i < helpers.length; i++) {
                helpers[i] = Thread.ofPlatform().daemon().name("xlmr-pack-" + i).start(worker);
            }
            worker.run();
            boolean interrupted = false;
            for (Thread th : helpers) {
                while (true) {
                    try {
                        th.join();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            Throwable e = failure.get();
            if (e instanceof RuntimeException re) {
                throw re;
            }
            if (e instanceof Error er) {
                throw er;
            }
            if (e != null) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static float[] vec(Map<String, Tensor> t, String name) {
        Tensor x = t.get(name);
        if (x == null) {
            throw new IllegalStateException("the reference model has no tensor " + name);
        }
        return x.toFloatArray();
    }

    private Weights mat(Map<String, Tensor> t, String name, int out, int in, Precision precision) {
        Tensor x = t.get(name);
        if (x == null) {
            throw new IllegalStateException("the reference model has no tensor " + name);
        }
        return k.pack(x.segment(), out, in, precision);
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
     * ({@code [len * hidden]}) in input order. Sequences are grouped by length into batches of at most
     * {@code batchSize} sequences, so similar lengths share a batch.
     */
    public float[][] encodeAll(List<int[]> sequences, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1");
        }
        Integer[] order = new Integer[sequences.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt(i -> sequences.get(i).length));
        float[][] out = new float[sequences.size()][];
        for (int b = 0; b < order.length; b += batchSize) {
            int n = Math.min(batchSize, order.length - b);
            int[][] seqs = new int[n][];
            for (int i = 0; i < n; i++) {
                seqs[i] = sequences.get(order[b + i]);
            }
            float[][] hidden = encodePacked(seqs);
            for (int i = 0; i < n; i++) {
                out[order[b + i]] = hidden[i];
            }
        }
        return out;
    }

    /** Last hidden states of already unpadded sequences, each {@code [len * hidden]}. */
    public synchronized float[][] encodePacked(int[][] seqs) {
        int maxLen = 0;
        for (int[] seq : seqs) {
            maxLen = Math.max(maxLen, seq.length);
        }
        // the shared checks want a rectangular batch; padding ids of 0 are in range and add no length
        Batch.of(padded(seqs, maxLen), null, null).checkFor(config);
        Packed p = pack(seqs, null, null);
        float[] x = run(p);
        float[][] out = new float[seqs.length][];
        for (int s = 0; s < seqs.length; s++) {
            out[s] = Arrays.copyOfRange(x, p.start[s] * h, p.start[s + 1] * h);
        }
        return out;
    }

    private static int[][] padded(int[][] a, int len) {
        int[][] r = new int[a.length][];
        for (int i = 0; i < a.length; i++) {
            r[i] = Arrays.copyOf(a[i], len);
        }
        return r;
    }

    /**
     * The real tokens of a batch, concatenated; {@code keys[r]} (null: all) is how many of row r's packed
     * tokens the others attend to: the rest are query-only (padded positions kept, see {@link #paddedLastHiddenState}).
     */
    private record Packed(int[] ids, int[] positions, int[] types, int[] start, int[][] index, int[] keys) {
        int tokens() {
            return ids.length;
        }
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
        Packed p = packKeepingPadding(batch.inputIds(), batch.attentionMask(), batch.tokenTypeIds());
        float[] x = run(p);
        return new NdArray(new int[] {rows, seq, h}, unpack(x, h, p, rows, seq));
    }

    /** Every position, each row's real tokens first (its keys), then its padded ones (query-only). */
    private Packed packKeepingPadding(int[][] ids, int[][] mask, int[][] types) {
        int rows = ids.length;
        int[][] order = new int[rows][];
        int[] keys = new int[rows];
        for (int r = 0; r < rows; r++) {
            int len = ids[r].length;
            order[r] = new int[len];
            int w = 0;
            for (int pass = 0; pass < 2; pass++) {
                for (int t = 0; t < len; t++) {
                    boolean real = mask == null || mask[r][t] != 0;
                    if (real == (pass == 0)) {
                        order[r][w++] = t;
                    }
                }
                if (pass == 0) {
                    keys[r] = w;
                }
            }
        }
        Packed all = pack(ids, null, types);
        int[] pid = new int[all.tokens()];
        int[] pos = new int[pid.length];
        int[] typ = new int[pid.length];
        for (int r = 0; r < rows; r++) {
            int base = all.start()[r];
            for (int i = 0; i < order[r].length; i++) {
                int from = base + order[r][i];
                pid[base + i] = all.ids()[from];
                pos[base + i] = all.positions()[from];
                typ[base + i] = all.types()[from];
            }
        }
        return new Packed(pid, pos, typ, all.start(), order, keys);
    }

    private Packed pack(int[][] ids, int[][] mask, int[][] types) {
        int rows = ids.length;
        int[] start = new int[rows + 1];
        int[][] index = new int[rows][];
        for (int r = 0; r < rows; r++) {
            int n = 0;
            for (int tkn = 0; tkn < ids[r].length; tkn++) {
                if (mask == null || mask[r][tkn] != 0) {
                    n++;
                }
            }
            start[r + 1] = start[r] + n;
        }
        int total = start[rows];
        int[] pid = new int[total];
        int[] pos = new int[total];
        int[] typ = new int[total];
        int pad = config.padTokenId();
        for (int r = 0; r < rows; r++) {
            index[r] = new int[start[r + 1] - start[r]];
            int w = start[r];
            int count = 0;
            for (int tkn = 0; tkn < ids[r].length; tkn++) {
                // positions as transformers' create_position_ids_from_input_ids: non-pad ids count from pad + 1
                boolean nonPad = ids[r][tkn] != pad;
                if (nonPad) {
                    count++;
                }
                if (mask == null || mask[r][tkn] != 0) {
                    index[r][w - start[r]] = tkn;
                    pid[w] = ids[r][tkn];
                    pos[w] = nonPad ? count + pad : pad;
                    typ[w] = types == null ? 0 : types[r][tkn];
                    w++;
                }
            }
        }
        return new Packed(pid, pos, typ, start, index, null);
    }

    /** Embeddings and the encoder stack over packed tokens; returns the scratch buffer with [tokens][h]. */
    private float[] run(Packed p) {
        int n = p.tokens();
        Scratch s = scratch;
        s.x = Scratch.grow(s.x, (long) n * h);
        s.qkv = Scratch.grow(s.qkv, (long) n * 3 * h);
        s.ctx = Scratch.grow(s.ctx, (long) n * h);
        s.tmp = Scratch.grow(s.tmp, (long) n * h);
        s.up = Scratch.grow(s.up, (long) n * inter);
        long t0 = PROFILE ? System.nanoTime() : 0;
        float[] x = s.x;
        long rowBytes = (long) h * Float.BYTES;
        for (int i = 0; i < n; i++) {
            int off = i * h;
            MemorySegment.copy(wordEmb, F32, p.ids[i] * rowBytes, x, off, h);
            int po = p.positions[i] * h;
            int to = p.types[i] * h;
            for (int j = 0; j < h; j++) {
                x[off + j] += posEmb[po + j] + typeEmb[to + j];
            }
        }
        if (!config.preLayerNorm()) {
            k.residualLayerNorm(x, null, n, h, embLnW, embLnB, eps, x);
        }
        t0 = lap(EMB, t0);
        for (LayerWeights l : layers) {
            if (config.preLayerNorm()) {
                preNormLayer(l, p, n);
            } else {
                postNormLayer(l, p, n);
            }
        }
        if (config.preLayerNorm()) {
            k.residualLayerNorm(x, null, n, h, finalLnW, finalLnB, eps, x);
            lap(LN, t0);
        }
        return x;
    }

    /** Adds the time since {@code t0} to a stage when profiling; returns the new start. */
    private long lap(int stage, long t0) {
        if (!PROFILE) {
            return 0;
        }
        long t = System.nanoTime();
        stageNanos[stage] += t - t0;
        return t;
    }

    private void postNormLayer(LayerWeights l, Packed p, int n) {
        Scratch s = scratch;
        long t0 = PROFILE ? System.nanoTime() : 0;
        t0 = attention(l, p, n, s.x, t0);
        k.linear(s.ctx, n, h, l.o(), l.oB(), s.tmp, h);
        t0 = lap(OUT, t0);
        k.residualLayerNorm(s.tmp, s.x, n, h, l.ln1W(), l.ln1B(), eps, s.x);
        t0 = lap(LN, t0);
        t0 = feedForward(l, n, s.x, t0);
        k.residualLayerNorm(s.tmp, s.x, n, h, l.ln2W(), l.ln2B(), eps, s.x);
        lap(LN, t0);
    }

    private void preNormLayer(LayerWeights l, Packed p, int n) {
        Scratch s = scratch;
        long t0 = PROFILE ? System.nanoTime() : 0;
        k.residualLayerNorm(s.x, null, n, h, l.ln1W(), l.ln1B(), eps, s.tmp);
        t0 = lap(LN, t0);
        t0 = attention(l, p, n, s.tmp, t0);
        k.linear(s.ctx, n, h, l.o(), l.oB(), s.tmp, h);
        add(s.x, s.tmp, n * h);
        t0 = lap(OUT, t0);
        float[] normed = s.ctx;
        k.residualLayerNorm(s.x, null, n, h, l.ln2W(), l.ln2B(), eps, normed);
        t0 = lap(LN, t0);
        t0 = feedForward(l, n, normed, t0);
        add(s.x, s.tmp, n * h);
        lap(OTHER, t0);
    }

    private static void add(float[] acc, float[] v, int n) {
        for (int i = 0; i < n; i++) {
            acc[i] += v[i];
        }
    }

    /** {@code tmp = down(act(up(in)))}. */
    private long feedForward(LayerWeights l, int n, float[] in, long t0) {
        Scratch s = scratch;
        if (config.hiddenAct() == Activation.GELU) {
            // one call: kernels with their own memory keep the [n][inter] intermediate there (and fuse the GELU)
            k.geluFeedForward(in, n, h, l.up(), l.upB(), s.up, inter, l.down(), l.downB(), s.tmp);
            return lap(FFN, t0);
        } else {
            k.linear(in, n, h, l.up(), l.upB(), s.up, inter);
            t0 = lap(UP, t0);
            float[] part = s.up.length == n * inter ? s.up : Arrays.copyOf(s.up, n * inter);
            Ops.activate(part, config.hiddenAct());
            if (part != s.up) {
                System.arraycopy(part, 0, s.up, 0, n * inter);
            }
            t0 = lap(GELU, t0);
        }
        k.linear(s.up, n, inter, l.down(), l.downB(), s.tmp, h);
        return lap(DOWN, t0);
    }

    /**
     * Self-attention into {@code scratch.ctx}: the fused q/k/v projection, then per (sequence, head) pair
     * {@code softmax(Q K^T / sqrt(d)) V}. The pairs are independent (each writes its own columns of its own
     * rows of ctx), so they are spread over {@link #attentionThreads} threads, each with its own scores buffer.
     */
    private long attention(LayerWeights l, Packed p, int n, float[] in, long t0) {
        Scratch s = scratch;
        int h3 = 3 * h;
        k.linear(in, n, h, l.qkv(), l.qkvB(), s.qkv, h3);
        t0 = lap(QKV, t0);
        int seqs = p.start.length - 1;
        int units = seqs * heads;
        int maxLen = 0;
        for (int q = 0; q < seqs; q++) {
            maxLen = Math.max(maxLen, p.start[q + 1] - p.start[q]);
        }
        int t = Math.min(attentionThreads, units);
        if (s.scores.length < t) {
            s.scores = Arrays.copyOf(s.scores, t);
        }
        long need = k.attentionScratch(maxLen, headSize);
        for (int i = 0; i < t; i++) {
            if (s.scores[i] == null || s.scores[i].length < need) {
                s.scores[i] = Scratch.grow(s.scores[i] == null ? new float[0] : s.scores[i], need);
            }
        }
        float[] qkv = s.qkv;
        float[] ctx = s.ctx;
        parallelFor(t, units, (slot, u) -> attend(qkv, ctx, p, u / heads, u % heads, s.scores[slot]));
        return lap(ATT, t0);
    }

    /** One sequence's one head: {@code ctx[seq rows][head cols] = softmax(scale Q K^T) V}, by the kernels. */
    private void attend(float[] qkv, float[] ctx, Packed p, int q, int hd, float[] buf) {
        int h3 = 3 * h;
        int off = p.start[q];
        int len = p.start[q + 1] - off;
        if (len == 0) {
            return;
        }
        int col = hd * headSize;
        int qOff = off * h3 + col;
        // padded positions kept by paddedLastHiddenState come last and are query-only
        int keys = p.keys == null ? len : p.keys[q];
        float scale = (float) (1.0 / Math.sqrt(headSize));
        k.attention(qkv, qOff, qOff + h, qOff + 2 * h, h3, len, headSize, keys, config.isDecoder(), scale,
                ctx, off * h + col, h, buf);
    }

    /** Work item {@code (slot, unit)}: slot is the participant's index in {@code [0, threads)}. */
    private interface SlotTask {
        void run(int slot, int unit);
    }

    /**
     * Runs {@code units} work items on {@code threads} participants (the caller and pool workers), which
     * claim items one at a time, so a participant slowed down by other work on the cores takes fewer.
     */
    private void parallelFor(int threads, int units, SlotTask task) {
        if (threads <= 1 || units <= 1) {
            for (int u = 0; u < units; u++) {
                task.run(0, u);
            }
            return;
        }
        if (pool == null) {
            pool = new ForkJoinPool(attentionThreads - 1);
        }
        AtomicInteger next = new AtomicInteger();
        IntConsumer body = slot -> {
            for (int u; (u = next.getAndIncrement()) < units; ) {
                task.run(slot, u);
            }
        };
        ForkJoinTask<?>[] fs = new ForkJoinTask<?>[threads];
        for (int i = 1; i < threads; i++) {
            int slot = i;
            fs[i] = pool.submit(() -> body.accept(slot));
        }
        Throwable err = null;
        try {
            body.accept(0);
        } catch (Throwable e) {
            err = e;
            next.set(units); // stop the others early
        }
        for (int i = 1; i < threads; i++) {
            try {
                fs[i].join();
            } catch (Throwable e) {
                if (err == null) {
                    err = e;
                }
            }
        }
        if (err instanceof RuntimeException re) {
            throw re;
        }
        if (err instanceof Error er) {
            throw er;
        }
    }

    @Override
    public synchronized ModelOutput forward(Batch batch) {
        batch.checkFor(config);
        int rows = batch.rows();
        int seq = batch.sequenceLength();
        int[][] mask = batch.attentionMask();
        Packed p = pack(batch.inputIds(), mask, batch.tokenTypeIds());
        float[] x = run(p);
        int n = p.tokens();
        int choices = batch.choices();
        int[] lead = choices > 0 ? new int[] {rows / choices, choices} : new int[] {rows};
        Map<String, NdArray> out = new LinkedHashMap<>();
        out.put("last_hidden_state", new NdArray(shape(lead, seq, h), unpack(x, h, p, rows, seq)));
        // The first token's hidden state per row (zeros when position 0 is padding).
        float[] first = new float[rows * h];
        for (int r = 0; r < rows; r++) {
            if (p.index[r].length > 0 && p.index[r][0] == 0) {
                System.arraycopy(x, p.start[r] * h, first, r * h, h);
            }
        }
        Head kind = config.head();
        float[] pooled = null;
        if (poolerW != null) {
            pooled = new float[rows * h];
            k.linear(first, rows, h, poolerW, poolerB, pooled, h);
            for (int i = 0; i < pooled.length; i++) {
                pooled[i] = (float) Math.tanh(pooled[i]);
            }
            out.put("pooler_output", new NdArray(shape(lead, h), pooled));
        }
        switch (kind) {
            case BASE -> { }
            case MASKED_LM, CAUSAL_LM -> {
                float[] d = new float[n * h];
                k.linear(x, n, h, head.dense(), null, d, h);
                k.biasGelu(d, n, h, head.denseB());
                k.residualLayerNorm(d, null, n, h, head.normW(), head.normB(), eps, d);
                float[] logits = new float[Math.multiplyExact(n, head.outSize())];
                k.linear(d, n, h, head.out(), head.outB(), logits, head.outSize());
                out.put("logits", new NdArray(shape(lead, seq, head.outSize()), unpack(logits, head.outSize(), p, rows, seq)));
            }
            case SEQUENCE_CLASSIFICATION -> {
                float[] d = new float[rows * h];
                k.linear(first, rows, h, head.dense(), head.denseB(), d, h);
                for (int i = 0; i < d.length; i++) {
                    d[i] = (float) Math.tanh(d[i]);
                }
                float[] logits = new float[rows * head.outSize()];
                k.linear(d, rows, h, head.out(), head.outB(), logits, head.outSize());
                out.put("logits", new NdArray(new int[] {rows, head.outSize()}, logits));
            }
            case TOKEN_CLASSIFICATION -> {
                float[] logits = new float[n * head.outSize()];
                k.linear(x, n, h, head.out(), head.outB(), logits, head.outSize());
                out.put("logits", new NdArray(shape(lead, seq, head.outSize()), unpack(logits, head.outSize(), p, rows, seq)));
            }
            case QUESTION_ANSWERING -> {
                float[] logits = new float[n * 2];
                k.linear(x, n, h, head.out(), head.outB(), logits, 2);
                float[] both = unpack(logits, 2, p, rows, seq);
                float[] start = new float[rows * seq];
                float[] end = new float[rows * seq];
                for (int i = 0; i < rows * seq; i++) {
                    start[i] = both[2 * i];
                    end[i] = both[2 * i + 1];
                }
                out.put("start_logits", new NdArray(new int[] {rows, seq}, start));
                out.put("end_logits", new NdArray(new int[] {rows, seq}, end));
            }
            case MULTIPLE_CHOICE -> {
                float[] scores = new float[rows];
                k.linear(pooled, rows, h, head.out(), head.outB(), scores, 1);
                out.put("logits", new NdArray(lead, scores));
            }
        }
        return new ModelOutput(out);
    }

    /** Scatters packed rows of width {@code w} back to {@code [rows][seq][w]} (zeros at padding). */
    private static float[] unpack(float[] packed, int w, Packed p, int rows, int seq) {
        float[] out = new float[Math.multiplyExact(Math.multiplyExact(rows, seq), w)];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < p.index[r].length; i++) {
                System.arraycopy(packed, (p.start[r] + i) * w, out, (r * seq + p.index[r][i]) * w, w);
            }
        }
        return out;
    }

    private static int[] shape(int[] lead, int... rest) {
        int[] s = Arrays.copyOf(lead, lead.length + rest.length);
        System.arraycopy(rest, 0, s, lead.length, rest.length);
        return s;
    }

    @Override
    public synchronized void close() {
        if (PROFILE) {
            long total = 0;
            for (long v : stageNanos) {
                total += v;
            }
            StringBuilder b = new StringBuilder("xlmr: FastEncoder stages (" + k.name() + ", " + layers.length + " layers):");
            for (int i = 0; i < STAGES.length; i++) {
                if (stageNanos[i] > 0) {
                    b.append(String.format(java.util.Locale.ROOT, " %s %.3f s (%.1f%%)", STAGES[i], stageNanos[i] / 1e9,
                            100.0 * stageNanos[i] / Math.max(1, total)));
                }
            }
            System.err.println(b);
        }
        if (pool != null) {
            pool.shutdown();
        }
        if (ownsKernels) {
            k.close();
        } else {
            k.drain(); // the caller's kernels may still be repacking weights that read the mapping closed below
        }
        reference.close();
    }
}
