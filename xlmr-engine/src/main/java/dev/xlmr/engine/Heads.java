package dev.xlmr.engine;

import dev.xlmr.model.ModelConfig;
import dev.xlmr.model.NdArray;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The outputs after the encoder stack, as transformers names them: {@code last_hidden_state}, the pooler's
 * {@code tanh(dense(first token))}, and the task head's logits (masked/causal LM, sequence and token
 * classification, question answering, multiple choice). Per-token outputs are computed on the packed tokens and
 * stay packed ({@link #packed}), or are scattered back to the padded shape (zeros at padding) for a padded batch.
 */
final class Heads {
    private final ModelConfig config;
    private final Kernels k;
    private final EncoderWeights w;
    private final int h;
    private final float eps;

    Heads(ModelConfig config, Kernels k, EncoderWeights w) {
        this.config = config;
        this.k = k;
        this.w = w;
        this.h = config.hiddenSize();
        this.eps = (float) config.layerNormEps();
    }

    /** Outputs in transformers' order; those named in {@code perToken} are packed {@code [tokens, ...]}. */
    record Outputs(Map<String, NdArray> all, Set<String> perToken) {}

    /**
     * The outputs for hidden states {@code x} ({@code [tokens][h]} of {@code p}), per-token ones packed on
     * {@code p}'s offsets, per-sequence ones {@code [sequences, ...]} ({@code [batch, choices, ...]} for multiple
     * choice, {@code choices} per example, else 0).
     */
    Outputs packed(float[] x, PackedBatch p, int choices) {
        int n = p.tokens();
        int rows = p.sequences();
        int[] lead = choices > 0 ? new int[] {rows / choices, choices} : new int[] {rows};
        Map<String, NdArray> out = new LinkedHashMap<>();
        Set<String> perToken = new LinkedHashSet<>();
        // x is the layers' scratch (reused by the next batch, maybe longer than n * h): the output gets a copy
        out.put("last_hidden_state", new NdArray(new int[] {n, h}, Arrays.copyOf(x, n * h)));
        perToken.add("last_hidden_state");
        // The first token's hidden state per row (zeros when position 0 is padding).
        float[] first = new float[rows * h];
        for (int r = 0; r < rows; r++) {
            if (p.index()[r].length > 0 && p.index()[r][0] == 0) {
                System.arraycopy(x, p.start()[r] * h, first, r * h, h);
            }
        }
        float[] pooled = null;
        if (w.poolerW != null) {
            pooled = new float[rows * h];
            k.linear(first, rows, h, w.poolerW, w.poolerB, pooled, h);
            tanh(pooled);
            out.put("pooler_output", new NdArray(shape(lead, h), pooled));
        }
        EncoderWeights.Head head = w.head;
        switch (config.head()) {
            case BASE -> { }
            case MASKED_LM, CAUSAL_LM -> {
                float[] d = new float[n * h];
                k.linear(x, n, h, head.dense(), null, d, h);
                k.biasGelu(d, n, h, head.denseB());
                k.residualLayerNorm(d, null, n, h, head.normW(), head.normB(), eps, d);
                float[] logits = new float[Math.multiplyExact(n, head.outSize())];
                k.linear(d, n, h, head.out(), head.outB(), logits, head.outSize());
                out.put("logits", new NdArray(new int[] {n, head.outSize()}, logits));
                perToken.add("logits");
            }
            case SEQUENCE_CLASSIFICATION -> {
                float[] d = new float[rows * h];
                k.linear(first, rows, h, head.dense(), head.denseB(), d, h);
                tanh(d);
                float[] logits = new float[rows * head.outSize()];
                k.linear(d, rows, h, head.out(), head.outB(), logits, head.outSize());
                out.put("logits", new NdArray(new int[] {rows, head.outSize()}, logits));
            }
            case TOKEN_CLASSIFICATION -> {
                float[] logits = new float[n * head.outSize()];
                k.linear(x, n, h, head.out(), head.outB(), logits, head.outSize());
                out.put("logits", new NdArray(new int[] {n, head.outSize()}, logits));
                perToken.add("logits");
            }
            case QUESTION_ANSWERING -> {
                float[] both = new float[n * 2];
                k.linear(x, n, h, head.out(), head.outB(), both, 2);
                float[] start = new float[n];
                float[] end = new float[n];
                for (int i = 0; i < n; i++) {
                    start[i] = both[2 * i];
                    end[i] = both[2 * i + 1];
                }
                out.put("start_logits", new NdArray(new int[] {n}, start));
                out.put("end_logits", new NdArray(new int[] {n}, end));
                perToken.add("start_logits");
                perToken.add("end_logits");
            }
            case MULTIPLE_CHOICE -> {
                float[] scores = new float[rows];
                k.linear(pooled, rows, h, head.out(), head.outB(), scores, 1);
                out.put("logits", new NdArray(lead, scores));
            }
        }
        return new Outputs(out, perToken);
    }

    /**
     * The outputs for hidden states {@code x} ({@code [tokens][h]} of {@code p}) of a batch of {@code rows} rows of
     * {@code seq} tokens, {@code choices} per example for multiple choice (else 0): {@link #packed}, per-token
     * outputs scattered back to the padded shape (zeros at padding).
     */
    Map<String, NdArray> outputs(float[] x, PackedBatch p, int rows, int seq, int choices) {
        Outputs packed = packed(x, p, choices);
        int[] lead = choices > 0 ? new int[] {rows / choices, choices} : new int[] {rows};
        Map<String, NdArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, NdArray> e : packed.all().entrySet()) {
            NdArray a = e.getValue();
            if (!packed.perToken().contains(e.getKey())) {
                out.put(e.getKey(), a);
                continue;
            }
            int[] trailing = Arrays.copyOfRange(a.shape(), 1, a.rank());
            int width = 1;
            for (int t : trailing) {
                width *= t;
            }
            int[] padded = shape(lead, seq);
            padded = shape(padded, trailing);
            out.put(e.getKey(), new NdArray(padded, p.unpack(a.data(), width, rows, seq)));
        }
        return out;
    }

    private static void tanh(float[] a) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) Math.tanh(a[i]);
        }
    }

    private static int[] shape(int[] lead, int... rest) {
        int[] s = Arrays.copyOf(lead, lead.length + rest.length);
        System.arraycopy(rest, 0, s, lead.length, rest.length);
        return s;
    }
}
