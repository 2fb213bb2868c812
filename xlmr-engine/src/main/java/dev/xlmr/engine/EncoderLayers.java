package dev.xlmr.engine;

import dev.xlmr.model.Activation;
import dev.xlmr.model.ModelConfig;
import dev.xlmr.model.Ops;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The encoder's math over a {@link PackedBatch}: embeddings, then every layer (post-norm as XLM-R, pre-norm as
 * XLM-R XL), on the real tokens only. The linear layers run on all the batch's tokens at once; attention runs per
 * (sequence, head) through {@link Kernels#attention}, the pairs spread over a {@link WorkerPool}. Not thread-safe:
 * one batch at a time (the buffers are reused, grown to the largest batch seen).
 */
final class EncoderLayers implements AutoCloseable {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final ModelConfig config;
    private final Kernels k;
    private final EncoderWeights w;
    private final WorkerPool workers;
    private final StageProfile profile;
    private final int h;
    private final int heads;
    private final int headSize;
    private final int inter;
    private final float eps;
    private final Scratch scratch = new Scratch();

    /** Reused buffers, grown to the largest batch seen. */
    private static final class Scratch {
        float[] x = new float[0];
        float[] qkv = new float[0];
        float[] ctx = new float[0];
        float[] tmp = new float[0];
        float[] up = new float[0];
        float[][] attention = new float[0][]; // one per participant of the attention pool

        static float[] grow(float[] a, long n) {
            if (n > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("batch too large for one forward pass (" + n + " floats); split it");
            }
            return a.length >= n ? a : new float[(int) Math.max(n, Math.min(Integer.MAX_VALUE - 8, a.length * 3L / 2))];
        }
    }

    /** {@code attentionThreads}: participants for attention's (sequence, head) pairs. */
    EncoderLayers(ModelConfig config, Kernels k, EncoderWeights w, int attentionThreads, StageProfile profile) {
        this.config = config;
        this.k = k;
        this.w = w;
        this.workers = new WorkerPool(attentionThreads);
        this.profile = profile;
        this.h = config.hiddenSize();
        this.heads = config.numAttentionHeads();
        this.headSize = config.headSize();
        this.inter = config.intermediateSize();
        this.eps = (float) config.layerNormEps();
    }

    int layers() {
        return w.layers.length;
    }

    /** Embeddings and the encoder stack over packed tokens; returns a reused buffer with {@code [tokens][h]}. */
    float[] run(PackedBatch p) {
        int n = p.tokens();
        Scratch s = scratch;
        s.x = Scratch.grow(s.x, (long) n * h);
        s.qkv = Scratch.grow(s.qkv, (long) n * 3 * h);
        s.ctx = Scratch.grow(s.ctx, (long) n * h);
        s.tmp = Scratch.grow(s.tmp, (long) n * h);
        s.up = Scratch.grow(s.up, (long) n * inter);
        long t0 = profile.start();
        float[] x = s.x;
        long rowBytes = (long) h * Float.BYTES;
        int[] ids = p.ids(), positions = p.positions(), types = p.types();
        for (int i = 0; i < n; i++) {
            int off = i * h;
            MemorySegment.copy(w.wordEmb, F32, ids[i] * rowBytes, x, off, h);
            int po = positions[i] * h;
            int to = types[i] * h;
            for (int j = 0; j < h; j++) {
                x[off + j] += w.posEmb[po + j] + w.typeEmb[to + j];
            }
        }
        if (!config.preLayerNorm()) {
            k.residualLayerNorm(x, null, n, h, w.embLnW, w.embLnB, eps, x);
        }
        t0 = profile.lap(StageProfile.EMB, t0);
        for (EncoderWeights.Layer l : w.layers) {
            if (config.preLayerNorm()) {
                preNormLayer(l, p, n);
            } else {
                postNormLayer(l, p, n);
            }
        }
        if (config.preLayerNorm()) {
            k.residualLayerNorm(x, null, n, h, w.finalLnW, w.finalLnB, eps, x);
            profile.lap(StageProfile.LN, t0);
        }
        return x;
    }

    private void postNormLayer(EncoderWeights.Layer l, PackedBatch p, int n) {
        Scratch s = scratch;
        long t0 = profile.start();
        t0 = attention(l, p, n, s.x, t0);
        k.linear(s.ctx, n, h, l.o(), l.oB(), s.tmp, h);
        t0 = profile.lap(StageProfile.OUT, t0);
        k.residualLayerNorm(s.tmp, s.x, n, h, l.ln1W(), l.ln1B(), eps, s.x);
        t0 = profile.lap(StageProfile.LN, t0);
        t0 = feedForward(l, n, s.x, t0);
        k.residualLayerNorm(s.tmp, s.x, n, h, l.ln2W(), l.ln2B(), eps, s.x);
        profile.lap(StageProfile.LN, t0);
    }

    private void preNormLayer(EncoderWeights.Layer l, PackedBatch p, int n) {
        Scratch s = scratch;
        long t0 = profile.start();
        k.residualLayerNorm(s.x, null, n, h, l.ln1W(), l.ln1B(), eps, s.tmp);
        t0 = profile.lap(StageProfile.LN, t0);
        t0 = attention(l, p, n, s.tmp, t0);
        k.linear(s.ctx, n, h, l.o(), l.oB(), s.tmp, h);
        add(s.x, s.tmp, n * h);
        t0 = profile.lap(StageProfile.OUT, t0);
        float[] normed = s.ctx;
        k.residualLayerNorm(s.x, null, n, h, l.ln2W(), l.ln2B(), eps, normed);
        t0 = profile.lap(StageProfile.LN, t0);
        t0 = feedForward(l, n, normed, t0);
        add(s.x, s.tmp, n * h);
        profile.lap(StageProfile.OTHER, t0);
    }

    private static void add(float[] acc, float[] v, int n) {
        for (int i = 0; i < n; i++) {
            acc[i] += v[i];
        }
    }

    /** {@code tmp = down(act(up(in)))}. */
    private long feedForward(EncoderWeights.Layer l, int n, float[] in, long t0) {
        Scratch s = scratch;
        if (config.hiddenAct() == Activation.GELU) {
            // one call: kernels with their own memory keep the [n][inter] intermediate there (and fuse the GELU)
            k.geluFeedForward(in, n, h, l.up(), l.upB(), s.up, inter, l.down(), l.downB(), s.tmp);
            return profile.lap(StageProfile.FFN, t0);
        } else {
            k.linear(in, n, h, l.up(), l.upB(), s.up, inter);
            t0 = profile.lap(StageProfile.UP, t0);
            float[] part = s.up.length == n * inter ? s.up : Arrays.copyOf(s.up, n * inter);
            Ops.activate(part, config.hiddenAct());
            if (part != s.up) {
                System.arraycopy(part, 0, s.up, 0, n * inter);
            }
            t0 = profile.lap(StageProfile.GELU, t0);
        }
        k.linear(s.up, n, inter, l.down(), l.downB(), s.tmp, h);
        return profile.lap(StageProfile.DOWN, t0);
    }

    /**
     * Self-attention into {@code scratch.ctx}: the fused q/k/v projection, then per (sequence, head) pair
     * {@code softmax(Q K^T / sqrt(d)) V}. The pairs are independent (each writes its own columns of its own
     * rows of ctx), so they are spread over the worker pool, each participant with its own scratch.
     */
    private long attention(EncoderWeights.Layer l, PackedBatch p, int n, float[] in, long t0) {
        Scratch s = scratch;
        k.linear(in, n, h, l.qkv(), l.qkvB(), s.qkv, 3 * h);
        t0 = profile.lap(StageProfile.QKV, t0);
        int seqs = p.sequences();
        int units = seqs * heads;
        int maxLen = 0;
        for (int q = 0; q < seqs; q++) {
            maxLen = Math.max(maxLen, p.length(q));
        }
        int t = Math.min(workers.threads(), units);
        if (s.attention.length < t) {
            s.attention = Arrays.copyOf(s.attention, t);
        }
        long need = k.attentionScratch(maxLen, headSize);
        for (int i = 0; i < t; i++) {
            if (s.attention[i] == null || s.attention[i].length < need) {
                s.attention[i] = Scratch.grow(s.attention[i] == null ? new float[0] : s.attention[i], need);
            }
        }
        float[] qkv = s.qkv;
        float[] ctx = s.ctx;
        workers.parallelFor(t, units, (slot, u) -> attend(qkv, ctx, p, u / heads, u % heads, s.attention[slot]));
        return profile.lap(StageProfile.ATT, t0);
    }

    /** One sequence's one head: {@code ctx[seq rows][head cols] = softmax(scale Q K^T) V}, by the kernels. */
    private void attend(float[] qkv, float[] ctx, PackedBatch p, int q, int hd, float[] buf) {
        int h3 = 3 * h;
        int off = p.start()[q];
        int len = p.length(q);
        if (len == 0) {
            return;
        }
        int col = hd * headSize;
        int qOff = off * h3 + col;
        float scale = (float) (1.0 / Math.sqrt(headSize));
        // padded positions kept by paddedLastHiddenState come last and are query-only
        k.attention(qkv, qOff, qOff + h, qOff + 2 * h, h3, len, headSize, p.keys(q), config.isDecoder(), scale,
                ctx, off * h + col, h, buf);
    }

    @Override
    public void close() {
        workers.close();
    }
}
