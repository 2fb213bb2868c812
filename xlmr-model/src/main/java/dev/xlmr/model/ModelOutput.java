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

    public ModelOutput(Map<String, NdArray> outputs) {
        this.outputs = Collections.unmodifiableMap(new LinkedHashMap<>(outputs));
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
