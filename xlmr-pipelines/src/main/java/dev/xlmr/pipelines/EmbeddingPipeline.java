package dev.xlmr.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.model.Encoder;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Feature extraction: token embeddings (transformers' {@code pipeline("feature-extraction")}) and
 * sentence embeddings as sentence-transformers computes them.
 *
 * <pre>{@code
 * try (EmbeddingPipeline embed = EmbeddingPipeline.load("intfloat/multilingual-e5-base")) {
 *     float[] q = embed.embed("how do I reset my password?", EmbeddingPipeline.Options.defaults().promptName("query"));
 *     double sim = embed.similarity("Hello world!", "Bonjour le monde !");
 * }
 * }</pre>
 *
 * <p>When the model folder is a sentence-transformers folder ({@code modules.json}), the pooling
 * {@link Pooling#AUTO} follows it: {@code 1_Pooling/config.json} (cls, mean, max, mean_sqrt_len,
 * weightedmean, lasttoken; several modes are concatenated in that order), {@code 2_Normalize},
 * {@code sentence_bert_config.json} ({@code max_seq_length}, {@code do_lower_case}) and the
 * {@code prompts} of {@code config_sentence_transformers.json}. With such a folder, texts are
 * stripped (and lower-cased when {@code do_lower_case}) and cut at {@code max_seq_length} as
 * sentence-transformers does, whatever the pooling. Without such a folder AUTO means mean pooling over the attention mask
 * (what sentence-transformers uses for a plain model). An explicit pooling ignores the folder's
 * pooling and normalisation; {@link Options#normalize} adds L2 normalisation to any pooling.
 * Inputs longer than the model allows are truncated with a warning.
 */
public final class EmbeddingPipeline extends Pipeline {

    /** How token embeddings become one vector. */
    public enum Pooling {
        /** The sentence-transformers configuration of the folder, else MEAN. */
        AUTO,
        /** Mean over the tokens of the attention mask (special tokens included, as sentence-transformers). */
        MEAN,
        /** The first token ({@code <s>}). */
        CLS,
        /** Element-wise maximum over the tokens. */
        MAX,
        /** Sum over the tokens divided by the square root of their number. */
        MEAN_SQRT_LEN,
        /** Mean weighted by position (1, 2, ...). */
        WEIGHTED_MEAN,
        /** The last token. */
        LAST_TOKEN,
        /** The model's pooler output (dense + tanh on {@code <s>}); needs a model with a pooler. */
        POOLER,
        /** No pooling: one vector per token ({@link #tokenEmbeddings}). */
        NONE;

        /** Parses a name such as "mean", "cls", "mean_sqrt_len", "none" (case-insensitive, - or _). */
        public static Pooling parse(String name) {
            String n = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
            if (n.equals("WEIGHTEDMEAN")) {
                return WEIGHTED_MEAN;
            }
            if (n.equals("LASTTOKEN")) {
                return LAST_TOKEN;
            }
            for (Pooling p : values()) {
                if (p.name().equals(n)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("unknown pooling '" + name
                    + "' (auto, mean, cls, max, mean_sqrt_len, weighted_mean, last_token, pooler, none)");
        }
    }

    /**
     * How to embed.
     *
     * @param pooling    the pooling (AUTO: the folder's sentence-transformers configuration, else mean)
     * @param normalize  L2-normalise the result (on top of a folder's Normalize module under AUTO)
     * @param promptName a prompt of config_sentence_transformers.json (e.g. "query"), or null for the
     *                   folder's default prompt if it has one
     * @param prefix     a literal text put before each input (instead of a named prompt), or null
     */
    public record Options(Pooling pooling, boolean normalize, String promptName, String prefix) {
        public Options {
            if (pooling == null) {
                pooling = Pooling.AUTO;
            }
            if (promptName != null && prefix != null) {
                throw new IllegalArgumentException("give a prompt name or a prefix, not both");
            }
        }

        public static Options defaults() {
            return new Options(Pooling.AUTO, false, null, null);
        }

        public Options pooling(Pooling p) {
            return new Options(p, normalize, promptName, prefix);
        }

        public Options normalize(boolean n) {
            return new Options(pooling, n, promptName, prefix);
        }

        public Options promptName(String name) {
            return new Options(pooling, normalize, name, prefix);
        }

        public Options prefix(String p) {
            return new Options(pooling, normalize, promptName, p);
        }
    }

    /** What a sentence-transformers folder says. */
    record SentenceConfig(List<Pooling> modes, boolean normalize, int maxSeqLength, boolean lowerCase,
                          boolean includePrompt, Map<String, String> prompts, String defaultPromptName,
                          List<String> unsupported) {}

    private final SentenceConfig st;

    /** Token and sentence embeddings of an encoder, without sentence-transformers configuration. */
    public EmbeddingPipeline(Encoder encoder, XlmRobertaTokenizer tokenizer) {
        this(source(encoder, tokenizer), null);
    }

    /**
     * Embeddings of an encoder following the sentence-transformers files of {@code folder}
     * (modules.json, 1_Pooling, 2_Normalize, sentence_bert_config.json, config_sentence_transformers.json).
     */
    public EmbeddingPipeline(Encoder encoder, XlmRobertaTokenizer tokenizer, Path folder) {
        this(source(encoder, tokenizer), folder);
    }

    private EmbeddingPipeline(Source s) {
        this(s, s.dir());
    }

    private EmbeddingPipeline(Source s, Path folder) {
        super(s);
        this.st = folder == null ? null : readSentenceConfig(folder);
    }

    /** Loads a model folder or hub id (revision {@code main}). */
    public static EmbeddingPipeline load(String modelOrPath) {
        return load(modelOrPath, null);
    }

    /** Loads a model folder or hub id at a revision. */
    public static EmbeddingPipeline load(String modelOrPath, String revision) {
        return build(modelOrPath, revision, EmbeddingPipeline::new);
    }

    /** Whether a sentence-transformers configuration (modules.json) was found. */
    public boolean isSentenceTransformers() {
        return st != null;
    }

    /** The named prompts of config_sentence_transformers.json (empty when none). */
    public Map<String, String> prompts() {
        return st == null ? Map.of() : st.prompts();
    }

    /** The sentence embedding of a text with the default options. */
    public float[] embed(String text) {
        return embed(text, Options.defaults());
    }

    /** The sentence embedding of a text. */
    public float[] embed(String text, Options options) {
        return embedAll(List.of(text), options).get(0);
    }

    /** Batched sentence embeddings, in the order of the texts. */
    public List<float[]> embedAll(List<String> texts, Options options) {
        if (options.pooling() == Pooling.NONE) {
            throw new IllegalArgumentException("pooling none gives token embeddings: use tokenEmbeddings");
        }
        Plan plan = plan(options);
        List<float[]> out = new ArrayList<>(Collections.nCopies(texts.size(), null));
        run(texts, plan, (input, row) -> {
            float[] v = pool(row, plan);
            if (plan.normalize) {
                normalize(v);
            }
            out.set(input, v);
        });
        return out;
    }

    /** The last hidden state of each text, one vector per token (special tokens included). */
    public List<float[][]> tokenEmbeddings(List<String> texts, Options options) {
        Plan plan = plan(options.pooling(Pooling.NONE));
        List<float[][]> out = new ArrayList<>(Collections.nCopies(texts.size(), null));
        run(texts, plan, (input, row) -> {
            float[][] t = row.tokens("last_hidden_state");
            if (plan.normalize) {
                for (float[] v : t) {
                    normalize(v);
                }
            }
            out.set(input, t);
        });
        return out;
    }

    /** Cosine similarity of the sentence embeddings of two texts (default options). */
    public double similarity(String a, String b) {
        return similarity(a, b, Options.defaults());
    }

    /** Cosine similarity of the sentence embeddings of two texts. */
    public double similarity(String a, String b, Options options) {
        List<float[]> v = embedAll(List.of(a, b), options);
        return cosine(v.get(0), v.get(1));
    }

    /** Cosine similarity of two vectors (0 when one is zero). */
    public static double cosine(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("vectors of sizes " + a.length + " and " + b.length);
        }
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }

    // ---- internals --------------------------------------------------------------------------------

    /** The resolved recipe of one call. */
    private record Plan(List<Pooling> modes, boolean normalize, String prompt, int promptTokens, int maxLength,
                        boolean strip, boolean lowerCase) {}

    private Plan plan(Options o) {
        String prompt = o.prefix();
        if (o.promptName() != null) {
            prompt = prompts().get(o.promptName());
            if (prompt == null) {
                throw new IllegalArgumentException("no prompt named '" + o.promptName() + "'"
                        + (prompts().isEmpty() ? " (the model has no prompts in config_sentence_transformers.json)"
                        : "; the model has " + prompts().keySet()));
            }
        } else if (prompt == null && st != null && st.defaultPromptName() != null) {
            prompt = st.prompts().get(st.defaultPromptName());
        }
        boolean follow = o.pooling() == Pooling.AUTO && st != null;
        if (follow && !st.unsupported().isEmpty()) {
            throw new IllegalArgumentException("the sentence-transformers modules " + st.unsupported()
                    + " are not supported; give an explicit pooling to use the encoder alone");
        }
        List<Pooling> modes = follow ? st.modes()
                : List.of(o.pooling() == Pooling.AUTO ? Pooling.MEAN : o.pooling());
        boolean normalize = o.normalize() || follow && st.normalize();
        int max = maxLength();
        if (st != null && st.maxSeqLength() > 0) {
            max = Math.min(max, st.maxSeqLength());
        }
        int promptTokens = 0;
        if (prompt != null && st != null && !st.includePrompt()) {
            // sentence-transformers: the prompt's tokens without the final </s>, <s> included
            promptTokens = tokenizer.encode(prompt, null, EncodeOptions.defaults()).length() - 1;
        }
        return new Plan(modes, normalize, prompt, promptTokens, max, st != null, st != null && st.lowerCase());
    }

    private void run(List<String> texts, Plan plan, RowHandler handler) {
        List<String> inputs = new ArrayList<>(texts.size());
        for (String t : texts) {
            String s = requireText(t, "text");
            if (plan.prompt() != null) {
                s = plan.prompt() + s;
            }
            if (plan.strip()) {
                s = s.strip();
            }
            if (plan.lowerCase()) {
                s = s.toLowerCase(Locale.ROOT);
            }
            inputs.add(s);
        }
        List<Encoding> encs = encodeTruncating(inputs, null, EncodeOptions.Truncation.LONGEST_FIRST, plan.maxLength());
        forEachRow(encs, (input, row) -> handler.accept(input, new PromptRow(row, plan.promptTokens())));
    }

    /** A row with the number of leading prompt tokens to leave out of the pooling. */
    private static final class PromptRow extends Row {
        final int skip;

        PromptRow(Row r, int skip) {
            super(r.out, r.index, r.length);
            this.skip = skip;
        }
    }

    private static float[] pool(Row row, Plan plan) {
        int skip = row instanceof PromptRow p ? Math.min(p.skip, row.length) : 0;
        List<float[]> parts = new ArrayList<>();
        float[][] tokens = null;
        for (Pooling mode : plan.modes()) {
            if (mode == Pooling.POOLER) {
                parts.add(row.get("pooler_output"));
                continue;
            }
            if (tokens == null) {
                tokens = row.tokens("last_hidden_state");
            }
            parts.add(poolTokens(tokens, skip, mode));
        }
        int size = parts.stream().mapToInt(a -> a.length).sum();
        float[] out = new float[size];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** sentence-transformers' Pooling over tokens {@code [skip, n)} (all of them count for CLS). */
    static float[] poolTokens(float[][] tokens, int skip, Pooling mode) {
        int n = tokens.length;
        int d = tokens[0].length;
        float[] out = new float[d];
        switch (mode) {
            case CLS -> System.arraycopy(tokens[0], 0, out, 0, d);
            case LAST_TOKEN -> System.arraycopy(tokens[n - 1], 0, out, 0, d);
            case MAX -> {
                Arrays.fill(out, n > skip ? Float.NEGATIVE_INFINITY : -1e9f);
                for (int t = skip; t < n; t++) {
                    for (int j = 0; j < d; j++) {
                        out[j] = Math.max(out[j], tokens[t][j]);
                    }
                }
            }
            case MEAN, MEAN_SQRT_LEN, WEIGHTED_MEAN -> {
                double[] sum = new double[d];
                double weight = 0;
                for (int t = skip; t < n; t++) {
                    double w = mode == Pooling.WEIGHTED_MEAN ? t + 1 : 1;
                    weight += w;
                    for (int j = 0; j < d; j++) {
                        sum[j] += w * tokens[t][j];
                    }
                }
                double div = mode == Pooling.MEAN_SQRT_LEN ? Math.sqrt(weight) : weight;
                div = Math.max(div, 1e-9);
                for (int j = 0; j < d; j++) {
                    out[j] = (float) (sum[j] / div);
                }
            }
            default -> throw new IllegalArgumentException("pooling " + mode + " does not pool tokens");
        }
        return out;
    }

    /** In-place L2 normalisation (as torch.nn.functional.normalize, eps 1e-12). */
    static void normalize(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        double norm = Math.max(Math.sqrt(s), 1e-12);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] / norm);
        }
    }

    private static SentenceConfig readSentenceConfig(Path dir) {
        JsonNode modules = readJson(dir.resolve("modules.json"));
        if (modules == null || !modules.isArray()) {
            return null;
        }
        List<Pooling> modes = new ArrayList<>();
        boolean normalize = false;
        boolean includePrompt = true;
        List<String> unsupported = new ArrayList<>();
        for (JsonNode m : modules) {
            String type = m.path("type").asText("");
            String shortType = type.substring(type.lastIndexOf('.') + 1);
            switch (shortType) {
                case "Transformer" -> { }
                case "Normalize" -> normalize = true;
                case "Pooling" -> {
                    JsonNode c = readJson(dir.resolve(m.path("path").asText("")).resolve("config.json"));
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
        JsonNode sb = readJson(dir.resolve("sentence_bert_config.json"));
        int maxSeq = sb == null ? 0 : sb.path("max_seq_length").asInt(0);
        boolean lower = sb != null && sb.path("do_lower_case").asBoolean(false);
        Map<String, String> prompts = new LinkedHashMap<>();
        String defaultPrompt = null;
        JsonNode cst = readJson(dir.resolve("config_sentence_transformers.json"));
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
        return new SentenceConfig(List.copyOf(modes), normalize, maxSeq, lower, includePrompt,
                Collections.unmodifiableMap(prompts), defaultPrompt, List.copyOf(unsupported));
    }

    /** The modes of a 1_Pooling/config.json, in sentence-transformers' concatenation order. */
    private static List<Pooling> poolingModes(JsonNode c) {
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
