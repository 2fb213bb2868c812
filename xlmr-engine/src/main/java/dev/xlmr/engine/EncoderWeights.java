package dev.xlmr.engine;

import dev.xlmr.model.ModelConfig;
import dev.xlmr.model.Tensor;
import dev.xlmr.model.XlmRobertaModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A reference model's weights bound to {@link Kernels}: the embedding tables, each layer's matrices packed by the
 * kernels (q/k/v fused into one), the final LayerNorm of pre-norm models, the pooler and the task head.
 * Packing (a copy into the kernels' layout, or a rounding to bf16/int8) is most of the load time, so every
 * matrix is one job, biggest first, spread over a few threads.
 */
final class EncoderWeights {
    /** The three attention projections, fused into one matrix in this order. */
    private static final String[] PROJECTIONS = {"query", "key", "value"};

    record Layer(Weights qkv, float[] qkvB, Weights o, float[] oB, float[] ln1W, float[] ln1B,
                 Weights up, float[] upB, Weights down, float[] downB, float[] ln2W, float[] ln2B) {}

    /** Head weights: dense (+ optional LayerNorm) then the output projection. */
    record Head(Weights dense, float[] denseB, float[] normW, float[] normB, Weights out, float[] outB, int outSize) {}

    final MemorySegment wordEmb;
    final float[] posEmb;   // small tables: on the heap, read without per-element segment access
    final float[] typeEmb;
    final float[] embLnW;   // null for pre-norm models
    final float[] embLnB;
    final Layer[] layers;
    final float[] finalLnW; // pre-norm models only
    final float[] finalLnB;
    final Weights poolerW;  // null without a pooler
    final float[] poolerB;
    final Head head;        // null for the base model

    /** Binds {@code reference}'s tensors, packing the matrices on {@code packThreads} threads. */
    EncoderWeights(XlmRobertaModel reference, Kernels k, Precision precision, int packThreads) {
        ModelConfig config = reference.config();
        int h = config.hiddenSize();
        int inter = config.intermediateSize();
        Map<String, Tensor> t = reference.tensors();
        wordEmb = t.get("embeddings.word_embeddings.weight").segment();
        posEmb = vec(t, "embeddings.position_embeddings.weight");
        typeEmb = vec(t, "embeddings.token_type_embeddings.weight");
        boolean xl = config.preLayerNorm();
        embLnW = xl ? null : vec(t, "embeddings.LayerNorm.weight");
        embLnB = xl ? null : vec(t, "embeddings.LayerNorm.bias");
        Packer pk = new Packer();
        layers = new Layer[config.numHiddenLayers()];
        Weights[][] lw = new Weights[layers.length][4];
        for (int i = 0; i < layers.length; i++) {
            String p = "encoder.layer." + i + ".";
            Weights[] w = lw[i];
            pk.add(() -> w[2] = mat(k, t, p + "intermediate.dense.weight", inter, h, precision), (long) inter * h);
            pk.add(() -> w[3] = mat(k, t, p + "output.dense.weight", h, inter, precision), (long) inter * h);
            pk.add(() -> {
                // one native copy: kernels that use native fp32 in place keep it (and so keep it alive)
                long bytes = 4L * h * h;
                MemorySegment qkv = Arena.ofAuto().allocate(3 * bytes, 64);
                for (int j = 0; j < 3; j++) {
                    MemorySegment.copy(t.get(p + "attention.self." + PROJECTIONS[j] + ".weight").segment(), 0, qkv, j * bytes, bytes);
                }
                w[0] = k.pack(qkv, 3 * h, h, precision);
            }, 3L * h * h);
            pk.add(() -> w[1] = mat(k, t, p + "attention.output.dense.weight", h, h, precision), (long) h * h);
        }
        boolean pooler = t.containsKey("pooler.dense.weight");
        Weights[] extra = new Weights[3];
        if (pooler) {
            pk.add(() -> extra[0] = mat(k, t, "pooler.dense.weight", h, h, Precision.FP32), (long) h * h);
        }
        String headDense = switch (config.head()) {
            case MASKED_LM, CAUSAL_LM -> "lm_head.dense.weight";
            case SEQUENCE_CLASSIFICATION -> "classifier.dense.weight";
            default -> null;
        };
        if (headDense != null) {
            pk.add(() -> extra[1] = mat(k, t, headDense, h, h, Precision.FP32), (long) h * h);
        }
        int headOut = switch (config.head()) {
            case BASE -> 0;
            case MASKED_LM, CAUSAL_LM -> config.vocabSize();
            case SEQUENCE_CLASSIFICATION, TOKEN_CLASSIFICATION -> config.numLabels();
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
            pk.add(() -> extra[2] = mat(k, t, headOutName, headOut, h, Precision.FP32), (long) headOut * h);
        }
        pk.run(packThreads);
        for (int i = 0; i < layers.length; i++) {
            String p = "encoder.layer." + i + ".";
            String ln1 = xl ? p + "attention.self_attn_layer_norm." : p + "attention.output.LayerNorm.";
            String ln2 = xl ? p + "LayerNorm." : p + "output.LayerNorm.";
            float[] qkvB = new float[3 * h];
            for (int j = 0; j < 3; j++) {
                System.arraycopy(vec(t, p + "attention.self." + PROJECTIONS[j] + ".bias"), 0, qkvB, j * h, h);
            }
            Weights[] w = lw[i];
            layers[i] = new Layer(w[0], qkvB, w[1], vec(t, p + "attention.output.dense.bias"),
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
            case MASKED_LM, CAUSAL_LM -> new Head(extra[1], vec(t, "lm_head.dense.bias"),
                    vec(t, "lm_head.layer_norm.weight"), vec(t, "lm_head.layer_norm.bias"),
                    extra[2], vec(t, "lm_head.bias"), headOut);
            case SEQUENCE_CLASSIFICATION -> new Head(extra[1], vec(t, "classifier.dense.bias"), null, null,
                    extra[2], vec(t, "classifier.out_proj.bias"), headOut);
            case TOKEN_CLASSIFICATION, MULTIPLE_CHOICE -> new Head(null, null, null, null,
                    extra[2], vec(t, "classifier.bias"), headOut);
            case QUESTION_ANSWERING -> new Head(null, null, null, null,
                    extra[2], vec(t, "qa_outputs.bias"), headOut);
        };
    }

    private static float[] vec(Map<String, Tensor> t, String name) {
        Tensor x = t.get(name);
        if (x == null) {
            throw new IllegalStateException("the reference model has no tensor " + name);
        }
        return x.toFloatArray();
    }

    private static Weights mat(Kernels k, Map<String, Tensor> t, String name, int out, int in, Precision precision) {
        Tensor x = t.get(name);
        if (x == null) {
            throw new IllegalStateException("the reference model has no tensor " + name);
        }
        return k.pack(x.segment(), out, in, precision);
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
}
