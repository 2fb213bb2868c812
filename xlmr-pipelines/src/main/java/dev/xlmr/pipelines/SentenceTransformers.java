package dev.xlmr.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a sentence-transformers folder says ({@code modules.json} and the files it points to): where the
 * Transformer module is, the Pooling modes (in sentence-transformers' concatenation order), the modules
 * after the pooling in their order ({@code Dense}, {@code Normalize}: {@link #chain()}), a SparseEncoder's
 * {@code SpladePooling}, {@code max_seq_length} and {@code do_lower_case} of {@code sentence_bert_config.json} (in the
 * Transformer's folder, else the top folder), and the prompts of {@code config_sentence_transformers.json}.
 * The one reader of these files: the pipelines and the server both use it.
 *
 * <pre>{@code
 * SentenceTransformers st = SentenceTransformers.read(Path.of("testdata/xlmr-base"));  // null without modules.json
 * st.modes();          // [MEAN]
 * st.normalize();      // true
 * st.chain();          // [Normalize[]]
 * }</pre>
 *
 * @param transformerDir    the Transformer module's folder (the top folder for path "")
 * @param modes             the pooling modes, concatenated in this order (MEAN when the folder has no Pooling)
 * @param normalize         whether a Normalize module follows
 * @param maxSeqLength      sentence_bert_config.json's max_seq_length, 0 when absent
 * @param lowerCase         sentence_bert_config.json's do_lower_case
 * @param includePrompt     the Pooling module's include_prompt (false: prompt tokens are left out of the pooling)
 * @param prompts           named prompts, in file order
 * @param defaultPromptName the prompt used when none is asked for, or null
 * @param unsupported       module types this project does not run
 * @param chain             the Dense and Normalize modules after the pooling, in modules.json order
 * @param splade            the SpladePooling module of a SparseEncoder folder, or null
 */
public record SentenceTransformers(Path transformerDir, List<Pooling> modes, boolean normalize, int maxSeqLength,
                                   boolean lowerCase, boolean includePrompt, Map<String, String> prompts,
                                   String defaultPromptName, List<String> unsupported, List<Step> chain,
                                   Splade splade) {

    /** A module applied to the pooled vector. */
    public sealed interface Step permits DenseModule, Normalize {
        /** The module's output for one vector. */
        float[] apply(float[] v);
    }

    /** sentence-transformers' Normalize: L2 normalisation (eps 1e-12). */
    public record Normalize() implements Step {
        @Override
        public float[] apply(float[] v) {
            float[] out = v.clone();
            EmbeddingPipeline.normalize(out);
            return out;
        }
    }

    /**
     * sentence-transformers' SpladePooling (= TEI {@code --pooling splade}): per vocabulary entry, the
     * max (or sum) over the tokens of {@code log1p(relu(logits))} ({@code log1p(log1p(relu(logits)))} for
     * activation {@code log1p_relu}).
     *
     * @param max        pooling_strategy max (else sum)
     * @param doubleLog  activation_function log1p_relu
     * @param dimensions word_embedding_dimension (the vocabulary size), 0 when absent
     */
    public record Splade(boolean max, boolean doubleLog, int dimensions) {
        /** Reads 1_SpladePooling/config.json (absent: max and relu, as SpladePooling's defaults). */
        static Splade read(JsonNode c) {
            if (c == null) {
                return new Splade(true, false, 0);
            }
            String strategy = c.path("pooling_strategy").asText("max");
            String act = c.path("activation_function").asText("relu");
            if (!strategy.equals("max") && !strategy.equals("sum")) {
                throw new IllegalArgumentException("SpladePooling pooling_strategy '" + strategy + "' is not max or sum");
            }
            if (!act.equals("relu") && !act.equals("log1p_relu")) {
                throw new IllegalArgumentException("SpladePooling activation_function '" + act + "' is not relu or log1p_relu");
            }
            return new Splade(strategy.equals("max"), act.equals("log1p_relu"), c.path("word_embedding_dimension").asInt(0));
        }
    }

    /** The configuration of a folder, or null when it has no modules.json. */
    public static SentenceTransformers read(Path dir) {
        JsonNode modules = Pipeline.readJson(dir.resolve("modules.json"));
        if (modules == null) {
            return null;
        }
        if (!modules.isArray()) {
            throw new IllegalArgumentException(dir.resolve("modules.json") + ": expected a list of modules");
        }
        Path top = dir.toAbsolutePath().normalize();
        Path transformer = dir;
        List<Pooling> modes = new ArrayList<>();
        boolean normalize = false;
        boolean includePrompt = true;
        List<String> unsupported = new ArrayList<>();
        List<Step> chain = new ArrayList<>();
        Splade splade = null;
        for (JsonNode m : modules) {
            String type = m.path("type").asText("");
            String shortType = type.substring(type.lastIndexOf('.') + 1);
            Path path = dir.resolve(m.path("path").asText(""));
            if (!path.toAbsolutePath().normalize().startsWith(top)) {
                throw new IllegalArgumentException(dir.resolve("modules.json") + ": module path leaves the folder: "
                        + m.path("path").asText(""));
            }
            switch (shortType) {
                case "Transformer", "MLMTransformer" -> transformer = path;
                case "Normalize" -> {
                    normalize = true;
                    chain.add(new Normalize());
                }
                case "Dense" -> chain.add(DenseModule.read(path));
                case "SpladePooling" -> splade = Splade.read(Pipeline.readJson(path.resolve("config.json")));
                case "Pooling" -> {
                    JsonNode c = Pipeline.readJson(path.resolve("config.json"));
                    if (c == null) {
                        throw new IllegalArgumentException(dir + ": the Pooling module has no config.json");
                    }
                    includePrompt = c.path("include_prompt").asBoolean(true);
                    modes.addAll(poolingModes(c));
                }
                default -> unsupported.add(type);
            }
        }
        if (modes.isEmpty()) {
            modes.add(Pooling.MEAN);
        }
        JsonNode sb = Pipeline.readJson(transformer.resolve("sentence_bert_config.json"));
        if (sb == null) {
            sb = Pipeline.readJson(dir.resolve("sentence_bert_config.json"));
        }
        int maxSeq = sb == null ? 0 : sb.path("max_seq_length").asInt(0);
        boolean lower = sb != null && sb.path("do_lower_case").asBoolean(false);
        Map<String, String> prompts = new LinkedHashMap<>();
        String defaultPrompt = null;
        JsonNode cst = Pipeline.readJson(dir.resolve("config_sentence_transformers.json"));
        if (cst != null) {
            JsonNode p = cst.get("prompts");
            if (p != null && p.isObject()) {
                for (Map.Entry<String, JsonNode> e : p.properties()) {
                    prompts.put(e.getKey(), e.getValue().asText());
                }
            }
            JsonNode d = cst.get("default_prompt_name");
            if (d != null && d.isTextual()) {
                defaultPrompt = d.asText();
                if (!prompts.containsKey(defaultPrompt)) {
                    throw new IllegalArgumentException(dir + ": default_prompt_name '" + defaultPrompt
                            + "' is not one of the prompts " + prompts.keySet());
                }
            }
        }
        return new SentenceTransformers(transformer, List.copyOf(modes), normalize, maxSeq, lower, includePrompt,
                Collections.unmodifiableMap(prompts), defaultPrompt, List.copyOf(unsupported), List.copyOf(chain), splade);
    }

    /** The modes of a 1_Pooling/config.json, in sentence-transformers' concatenation order. */
    static List<Pooling> poolingModes(JsonNode c) {
        List<Pooling> modes = new ArrayList<>();
        if (c.has("pooling_mode") && c.get("pooling_mode").isTextual()) {
            String m = c.get("pooling_mode").asText();
            modes.add(switch (m) {
                case "cls" -> Pooling.CLS;
                case "max" -> Pooling.MAX;
                case "mean" -> Pooling.MEAN;
                case "mean_sqrt_len_tokens" -> Pooling.MEAN_SQRT_LEN;
                case "weightedmean" -> Pooling.WEIGHTED_MEAN;
                case "lasttoken" -> Pooling.LAST_TOKEN;
                default -> throw new IllegalArgumentException("unknown pooling_mode '" + m + "'");
            });
            return modes;
        }
        if (c.path("pooling_mode_cls_token").asBoolean(false)) {
            modes.add(Pooling.CLS);
        }
        if (c.path("pooling_mode_max_tokens").asBoolean(false)) {
            modes.add(Pooling.MAX);
        }
        if (c.path("pooling_mode_mean_tokens").asBoolean(false)) {
            modes.add(Pooling.MEAN);
        }
        if (c.path("pooling_mode_mean_sqrt_len_tokens").asBoolean(false)) {
            modes.add(Pooling.MEAN_SQRT_LEN);
        }
        if (c.path("pooling_mode_weightedmean_tokens").asBoolean(false)) {
            modes.add(Pooling.WEIGHTED_MEAN);
        }
        if (c.path("pooling_mode_lasttoken").asBoolean(false)) {
            modes.add(Pooling.LAST_TOKEN);
        }
        return modes;
    }
}
