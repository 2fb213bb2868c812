package dev.xlmr.spark;

import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;

/**
 * What the embedding transformers ({@link XlmrSentenceEmbeddings}, {@link XlmrEmbeddingOutputs},
 * {@link XlmrLateChunking}) share beside {@link XlmrTransformer}'s columns and model: normalisation and
 * the text put before each input (a named prompt of the folder's {@code config_sentence_transformers.json},
 * or a literal prefix), as {@link dev.xlmr.pipelines.EmbeddingPipeline.Options} takes them.
 *
 * <pre>{@code
 * new XlmrSentenceEmbeddings().setModel("intfloat/multilingual-e5-base")
 *         .setPromptName("query").setNormalize(true);
 * }</pre>
 *
 * @param <T> the concrete transformer, which the setters return
 */
public abstract class XlmrEmbeddingTransformer<T extends XlmrEmbeddingTransformer<T>> extends XlmrTransformer<T> {
    private static final long serialVersionUID = 1L;

    private final BooleanParam normalize;
    private final Param<String> promptName;
    private final Param<String> prefix;

    XlmrEmbeddingTransformer(String uid, String defaultOutputCol, String inputs) {
        super(uid, defaultOutputCol);
        normalize = new BooleanParam(this, "normalize",
                "L2-normalise each vector (also on top of a folder's Normalize module)");
        promptName = new Param<>(this, "promptName", "a prompt of config_sentence_transformers.json, e.g. query");
        prefix = new Param<>(this, "prefix", "a literal text put before each " + inputs + " (instead of a named prompt)");
        setDefault(normalize, false);
    }

    public BooleanParam normalize() {
        return normalize;
    }

    public Param<String> promptName() {
        return promptName;
    }

    public Param<String> prefix() {
        return prefix;
    }

    public boolean getNormalize() {
        return (Boolean) getOrDefault(normalize);
    }

    /** L2-normalises the vectors, also on top of a folder's Normalize module; default false. */
    public T setNormalize(boolean on) {
        set(normalize, on);
        return self();
    }

    /** The prompt name, or null. */
    public String getPromptName() {
        return isDefined(promptName) ? getOrDefault(promptName) : null;
    }

    /** Uses a named prompt of the folder's config_sentence_transformers.json (e.g. "query"). */
    public T setPromptName(String name) {
        set(promptName, name);
        return self();
    }

    /** The prefix, or null. */
    public String getPrefix() {
        return isDefined(prefix) ? getOrDefault(prefix) : null;
    }

    /** Puts a literal text before each input (e.g. "query: "), instead of a named prompt. */
    public T setPrefix(String text) {
        set(prefix, text);
        return self();
    }
}
