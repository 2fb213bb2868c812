package dev.xlmr.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The named outputs of a forward pass, named as in transformers: {@code last_hidden_state},
 * {@code pooler_output}, {@code logits}, {@code start_logits}, {@code end_logits}.
 *
 * <pre>{@code
 * ModelOutput out = model.forward(ids, mask, null);
 * NdArray hidden = out.get("last_hidden_state"); // [batch][seq][hidden]
 * }</pre>
 */
public final class ModelOutput {
    private final Map<String, NdArray> outputs;

    /**
     * @throws NonFiniteOutputException when an output holds NaN or an infinity: finite weights and inputs
     *     never give one, so the weights are damaged (a NaN passed on would be silently wrong output)
     */
    public ModelOutput(Map<String, NdArray> outputs) {
        this.outputs = Collections.unmodifiableMap(new LinkedHashMap<>(outputs));
        for (Map.Entry<String, NdArray> e : this.outputs.entrySet()) {
            int at = firstNonFinite(e.getValue().data());
            if (at >= 0) {
                throw new NonFiniteOutputException("the model's output '" + e.getKey() + "' holds "
                        + e.getValue().data()[at] + " at flat index " + at
                        + "; the weights hold NaN or infinite values, or overflow float32");
            }
        }
    }

    /** The index of the first NaN or infinity, or -1: one branch-free pass (an int OR the JIT vectorizes). */
    static int firstNonFinite(float[] v) {
        final int block = 4096;
        for (int from = 0; from < v.length; from += block) {
            int to = Math.min(v.length, from + block);
            int acc = 0;
            for (int i = from; i < to; i++) {
                // the exponent is all ones (NaN, +-Inf) exactly when adding its lowest bit carries into the sign bit
                acc |= (Float.floatToRawIntBits(v[i]) & 0x7f800000) + 0x00800000;
            }
            if (acc < 0) {
                for (int i = from; i < to; i++) {
                    if (!Float.isFinite(v[i])) {
                        return i;
                    }
                }
            }
        }
        return -1;
    }

    /** The output of that name; throws IllegalArgumentException naming the ones there are. */
    public NdArray get(String name) {
        NdArray a = outputs.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no output '" + name + "'; this model gives " + outputs.keySet());
        }
        return a;
    }

    public boolean has(String name) {
        return outputs.containsKey(name);
    }

    /** Output names in a stable order. */
    public Set<String> names() {
        return outputs.keySet();
    }

    public Map<String, NdArray> asMap() {
        return outputs;
    }

    @Override
    public String toString() {
        return "ModelOutput" + outputs;
    }
}
