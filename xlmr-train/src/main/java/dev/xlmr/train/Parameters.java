package dev.xlmr.train;

import dev.xlmr.model.CheckpointException;
import dev.xlmr.model.ModelConfig;
import dev.xlmr.model.Tensor;
import dev.xlmr.model.Weights;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The trainable tensors of a model by their Hugging Face names, as float64 {@link Var}s (master
 * weights and gradients). Tied tensors are one parameter: the LM decoder weight is the word
 * embedding matrix and its bias is {@code lm_head.bias}, so they are not listed separately (as in
 * transformers' {@code named_parameters()}).
 *
 * <pre>{@code
 * Parameters p = Parameters.load(Path.of("model-dir"), config);
 * Var emb = p.get("roberta.embeddings.word_embeddings.weight");
 * }</pre>
 */
public final class Parameters {
    /** Stored names that are another parameter when the LM decoder is tied. */
    static final Set<String> TIED_ALIASES = Set.of("lm_head.decoder.weight", "lm_head.decoder.bias");

    private final Map<String, Var> vars;

    public Parameters(Map<String, Var> vars) {
        this.vars = new LinkedHashMap<>(vars);
    }

    /**
     * Reads every float tensor of a model folder (through xlmr-model's {@link Weights}) but the
     * tied decoder aliases.
     *
     * @throws CheckpointException when the weights cannot be read
     */
    public static Parameters load(Path modelDir, ModelConfig config) {
        Map<String, Var> out = new LinkedHashMap<>();
        try (Weights w = Weights.open(modelDir)) {
            for (String name : w.names()) {
                if (config.tieWordEmbeddings() && TIED_ALIASES.contains(name)) {
                    continue;
                }
                if (name.endsWith("position_ids")) {
                    continue; // a buffer some checkpoints store, not a parameter
                }
                Tensor t = w.get(name);
                float[] f = t.toFloatArray();
                double[] d = new double[f.length];
                for (int i = 0; i < f.length; i++) {
                    d[i] = f[i];
                }
                out.put(name, new Var(t.shape(), d));
            }
        }
        return new Parameters(out);
    }

    /**
     * The parameter of that name.
     *
     * @throws CheckpointException when the model has none
     */
    public Var get(String name) {
        Var v = vars.get(name);
        if (v == null) {
            throw new CheckpointException("the model has no parameter '" + name + "'");
        }
        return v;
    }

    /** The parameter with or without the {@code roberta.} prefix, whichever exists. */
    Var encoder(String name) {
        Var v = vars.get("roberta." + name);
        return v != null ? v : get(name);
    }

    public boolean contains(String name) {
        return vars.containsKey(name);
    }

    /** All parameters by name, in checkpoint order. */
    public Map<String, Var> all() {
        return Collections.unmodifiableMap(vars);
    }

    public void zeroGrad() {
        vars.values().forEach(Var::zeroGrad);
    }
}
