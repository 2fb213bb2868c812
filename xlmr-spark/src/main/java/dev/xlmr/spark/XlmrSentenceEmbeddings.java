package dev.xlmr.spark;

import dev.xlmr.pipelines.EmbeddingPipeline;
import java.util.Locale;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * Sentence embeddings as an {@code array<float>} column, as {@link EmbeddingPipeline} computes them
 * (sentence-transformers folders: their pooling, normalisation, max_seq_length and prompts).
 *
 * <pre>{@code
 * XlmrSentenceEmbeddings embed = new XlmrSentenceEmbeddings()
 *         .setModel("intfloat/multilingual-e5-base")     // or a folder every executor can read
 *         .setInputCol("text").setOutputCol("embedding")
 *         .setPromptName("query");
 * Dataset<Row> out = embed.transform(df);               // text, ..., embedding: array<float>
 * embed.write().overwrite().save("/models/embed");      // stores the model name, not the weights
 * XlmrSentenceEmbeddings again = XlmrSentenceEmbeddings.load("/models/embed");
 * }</pre>
 *
 * Null texts give null, empty or blank texts an empty array.
 */
public final class XlmrSentenceEmbeddings extends XlmrEmbeddingTransformer<XlmrSentenceEmbeddings> {
    private static final long serialVersionUID = 1L;

    private static final String[] POOLINGS = {"auto", "mean", "cls", "max", "mean_sqrt_len", "weighted_mean",
        "last_token", "pooler"};

    private final Param<String> pooling;

    public XlmrSentenceEmbeddings() {
        this(Identifiable.randomUID("xlmrSentenceEmbeddings"));
    }

    /** With a given uid (Spark's readers use this constructor). */
    public XlmrSentenceEmbeddings(String uid) {
        super(uid, "embedding", "input");
        pooling = new Param<>(this, "pooling", "auto (the folder's sentence-transformers pooling, else mean), mean, "
                + "cls, max, mean_sqrt_len, weighted_mean, last_token or pooler",
                ParamValidators.inArray(POOLINGS));
        setDefault(pooling, "auto");
    }

    /** Reads a saved transformer (for {@code MLReadable} and {@code PipelineModel.load}). */
    public static MLReader<XlmrSentenceEmbeddings> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads a transformer saved with {@code write().save(path)}. */
    public static XlmrSentenceEmbeddings load(String path) {
        return read().load(path);
    }

    public Param<String> pooling() {
        return pooling;
    }

    public String getPooling() {
        return getOrDefault(pooling);
    }

    /** Sets the pooling: auto, mean, cls, max, mean_sqrt_len, weighted_mean, last_token or pooler. */
    public XlmrSentenceEmbeddings setPooling(String name) {
        EmbeddingPipeline.Pooling p = EmbeddingPipeline.Pooling.parse(name);   // clear error for unknown names
        if (p == EmbeddingPipeline.Pooling.NONE) {
            throw new IllegalArgumentException("pooling none gives token embeddings: use XlmrTokenEmbeddings");
        }
        set(pooling, p.name().toLowerCase(Locale.ROOT));
        return this;
    }

    /** The pipeline options these params stand for. */
    EmbeddingPipeline.Options options() {
        return new EmbeddingPipeline.Options(parsePooling(getPooling()), getNormalize(), getPromptName(), getPrefix());
    }

    private static EmbeddingPipeline.Pooling parsePooling(String name) {
        try {
            EmbeddingPipeline.Pooling p = EmbeddingPipeline.Pooling.parse(name);
            return p == EmbeddingPipeline.Pooling.NONE ? null : p;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    @Override
    DataType outputType() {
        return DataTypes.createArrayType(DataTypes.FloatType, false);
    }

    @Override
    Task task() {
        options();   // a prompt name together with a prefix fails here, on the driver
        return new EmbedTask(getModel(), getRevision(), getBatchSize(), getMaxLength(), getPooling(), getNormalize(),
                getPromptName(), getPrefix());
    }

    private static final class EmbedTask extends Task {
        private static final long serialVersionUID = 1L;
        private final String pooling;
        private final boolean normalize;
        private final String promptName;
        private final String prefix;

        EmbedTask(String model, String revision, int batchSize, int maxLength, String pooling, boolean normalize,
                  String promptName, String prefix) {
            super(model, revision, batchSize, maxLength);
            this.pooling = pooling;
            this.normalize = normalize;
            this.promptName = promptName;
            this.prefix = prefix;
        }

        @Override
        Batcher open() {
            EmbeddingPipeline p = ModelCache.pipeline(EmbeddingPipeline.class, this,
                    m -> new EmbeddingPipeline(m.encoder(), m.tokenizer(), m.dir()));
            EmbeddingPipeline.Options o = new EmbeddingPipeline.Options(parsePooling(pooling), normalize, promptName, prefix);
            return (texts, pairs) -> p.embedAll(texts, o).toArray();
        }

        @Override
        Object emptyResult() {
            return new float[0];
        }
    }
}
