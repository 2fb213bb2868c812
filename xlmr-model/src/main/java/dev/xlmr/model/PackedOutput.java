package dev.xlmr.model;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The outputs of {@link Encoder#forward(PackedInput)}, on the input's offsets. Per-token outputs
 * ({@code last_hidden_state}, token-level {@code logits}, {@code start_logits}, {@code end_logits}) are packed:
 * shape {@code [tokens, ...]}, sequence {@code s} at rows {@code [cuSeqlens[s], cuSeqlens[s + 1])}, no padding
 * anywhere. Per-sequence outputs ({@code pooler_output}, sequence-level {@code logits}) keep the shape
 * {@link Encoder#forward(Batch)} gives them: {@code [sequences, ...]}, or {@code [batch, choices, ...]} for
 * multiple choice.
 *
 * <pre>{@code
 * PackedOutput out = encoder.forward(PackedInput.of(List.of(ids1, ids2)));
 * float[] second = out.tokens("last_hidden_state", 1);   // [length of ids2 * hidden]
 * float[] logits = out.sequence("logits", 0);             // a classifier's logits for ids1
 * }</pre>
 */
public final class PackedOutput {
    private final int[] cuSeqlens;
    private final ModelOutput outputs;
    private final Set<String> perToken;

    /**
     * @param cuSeqlens the input's offsets
     * @param outputs   named outputs in a stable order
     * @param perToken  the names of {@code outputs} that are packed per token
     * @throws NonFiniteOutputException when an output holds NaN or an infinity (see {@link ModelOutput})
     */
    public PackedOutput(int[] cuSeqlens, Map<String, NdArray> outputs, Set<String> perToken) {
        this.cuSeqlens = cuSeqlens.clone();
        this.outputs = new ModelOutput(outputs);
        this.perToken = Set.copyOf(perToken);
        int tokens = this.cuSeqlens[this.cuSeqlens.length - 1];
        for (String name : this.perToken) {
            if (!outputs.containsKey(name) || outputs.get(name).dim(0) != tokens) {
                throw new IllegalArgumentException("per-token output '" + name + "' is not [" + tokens + ", ...]");
            }
        }
    }

    /**
     * Whether the output of that name from a model with this head is per token: {@code last_hidden_state},
     * {@code start_logits}, {@code end_logits}, and {@code logits} of token classification and language models.
     */
    public static boolean isPerToken(String name, Head head) {
        return switch (name) {
            case "last_hidden_state", "start_logits", "end_logits" -> true;
            case "logits" -> head == Head.TOKEN_CLASSIFICATION || head == Head.MASKED_LM || head == Head.CAUSAL_LM;
            default -> false;
        };
    }

    /**
     * A padded output of {@code input.padded(...)} cut to the real tokens: the plain way from {@link Encoder#forward(Batch)}
     * to this form (what the padded positions held is dropped).
     */
    public static PackedOutput unpad(ModelOutput padded, PackedInput input, Head head) {
        int rows = input.sequences();
        int seq = input.longest();
        Map<String, NdArray> out = new LinkedHashMap<>();
        Set<String> tokenNames = new LinkedHashSet<>();
        for (Map.Entry<String, NdArray> e : padded.asMap().entrySet()) {
            NdArray a = e.getValue();
            if (!isPerToken(e.getKey(), head)) {
                out.put(e.getKey(), a);
                continue;
            }
            int lead = input.isMultipleChoice() ? 2 : 1;   // [batch, choices] or [rows]
            int[] shape = a.shape();
            int[] packedShape = new int[shape.length - lead];
            packedShape[0] = input.tokens();
            System.arraycopy(shape, lead + 1, packedShape, 1, shape.length - lead - 1);
            int w = a.data().length / (rows * seq);
            float[] data = new float[input.tokens() * w];
            for (int s = 0; s < rows; s++) {
                System.arraycopy(a.data(), s * seq * w, data, input.start(s) * w, input.length(s) * w);
            }
            out.put(e.getKey(), new NdArray(packedShape, data));
            tokenNames.add(e.getKey());
        }
        return new PackedOutput(input.cuSeqlens(), out, tokenNames);
    }

    /** The input's offsets. */
    public int[] cuSeqlens() {
        return cuSeqlens.clone();
    }

    /** How many sequences. */
    public int sequences() {
        return cuSeqlens.length - 1;
    }

    /** Where sequence {@code s}'s rows start in a per-token output. */
    public int start(int s) {
        return cuSeqlens[s];
    }

    /** Tokens of sequence {@code s}. */
    public int length(int s) {
        return cuSeqlens[s + 1] - cuSeqlens[s];
    }

    /** The output of that name as it is (packed when per token); throws IllegalArgumentException naming the ones there are. */
    public NdArray get(String name) {
        return outputs.get(name);
    }

    public boolean has(String name) {
        return outputs.has(name);
    }

    /** Whether the output of that name is packed per token. */
    public boolean perToken(String name) {
        outputs.get(name);
        return perToken.contains(name);
    }

    /** Output names in a stable order. */
    public Set<String> names() {
        return outputs.names();
    }

    /** Sequence {@code s}'s part of a per-token output, flattened: {@code [length(s) * width]}. */
    public float[] tokens(String name, int s) {
        NdArray a = tokenOutput(name);
        int w = a.data().length / a.dim(0);
        return Arrays.copyOfRange(a.data(), cuSeqlens[s] * w, cuSeqlens[s + 1] * w);
    }

    /** The vector at position {@code position} of sequence {@code s} in a per-token output. */
    public float[] at(String name, int s, int position) {
        NdArray a = tokenOutput(name);
        if (position < 0 || position >= length(s)) {
            throw new IndexOutOfBoundsException("position " + position + " of a sequence of " + length(s) + " tokens");
        }
        int w = a.data().length / a.dim(0);
        int off = (cuSeqlens[s] + position) * w;
        return Arrays.copyOfRange(a.data(), off, off + w);
    }

    /** Sequence {@code s}'s row of a per-sequence output, flattened (for multiple choice, {@code s = example * choices + choice}). */
    public float[] sequence(String name, int s) {
        NdArray a = outputs.get(name);
        if (perToken.contains(name)) {
            throw new IllegalArgumentException("output '" + name + "' is per token; use tokens(name, s)");
        }
        int per = a.data().length / sequences();
        return Arrays.copyOfRange(a.data(), s * per, (s + 1) * per);
    }

    private NdArray tokenOutput(String name) {
        NdArray a = outputs.get(name);
        if (!perToken.contains(name)) {
            throw new IllegalArgumentException("output '" + name + "' is per sequence; use sequence(name, s)");
        }
        return a;
    }

    @Override
    public String toString() {
        return "PackedOutput" + Arrays.toString(cuSeqlens) + outputs.asMap();
    }
}
