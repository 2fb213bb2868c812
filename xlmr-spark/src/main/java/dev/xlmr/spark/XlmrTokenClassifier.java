package dev.xlmr.spark;

import dev.xlmr.pipelines.TokenClassificationPipeline;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Token classification (NER), as {@link TokenClassificationPipeline}: an
 * {@code array<struct<entity: string, score: double, index: int, word: string, begin: int, end: int>>}
 * column. With aggregation {@code none} (default) each token comes with its label and
 * {@code index} (its position in the sequence); with {@code simple}, {@code first},
 * {@code average} or {@code max} the entries are entity groups ({@code entity} is the type such as
 * PER, {@code index} is null). Offsets are UTF-16, end exclusive ({@code text.substring(begin, end)}).
 *
 * <pre>{@code
 * XlmrTokenClassifier ner = new XlmrTokenClassifier()
 *         .setModel("Davlan/xlm-roberta-base-ner-hrl")
 *         .setAggregation("simple")
 *         .setOutputCol("entities");
 * ner.transform(df).select(col("text"), explode(col("entities")).as("e")).select("text", "e.entity", "e.word");
 * }</pre>
 *
 * Texts longer than the model allows are cut into overlapping windows ({@link #stride()}). Labels in
 * {@link #ignoreLabels()} (default O) are left out. Null texts give null, empty or blank texts an
 * empty array.
 */
public final class XlmrTokenClassifier extends XlmrTransformer<XlmrTokenClassifier> {
    private static final long serialVersionUID = 1L;

    static final StructType ENTITY = new StructType()
            .add("entity", DataTypes.StringType, false)
            .add("score", DataTypes.DoubleType, false)
            .add("index", DataTypes.IntegerType, true)
            .add("word", DataTypes.StringType, false)
            .add("begin", DataTypes.IntegerType, false)
            .add("end", DataTypes.IntegerType, false);

    private final Param<String> aggregation;
    private final StringArrayParam ignoreLabels;
    private final IntParam stride;

    public XlmrTokenClassifier() {
        this(Identifiable.randomUID("xlmrTokenClassifier"));
    }

    /** With a given uid (Spark's readers use this constructor). */
    public XlmrTokenClassifier(String uid) {
        super(uid, "entities");
        aggregation = new Param<>(this, "aggregation", "none, simple, first, average or max (transformers' strategies)",
                ParamValidators.inArray(new String[] {"none", "simple", "first", "average", "max"}));
        ignoreLabels = new StringArrayParam(this, "ignoreLabels", "labels left out of the results");
        stride = new IntParam(this, "stride", "tokens of overlap between the windows of a long text; -1: a quarter of the window",
                ParamValidators.gtEq(-1));
        setDefault(aggregation, "none");
        setDefault(ignoreLabels, new String[] {"O"});
        setDefault(stride, -1);
    }

    /** Reads a saved transformer (for {@code MLReadable} and {@code PipelineModel.load}). */
    public static MLReader<XlmrTokenClassifier> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads a transformer saved with {@code write().save(path)}. */
    public static XlmrTokenClassifier load(String path) {
        return read().load(path);
    }

    public Param<String> aggregation() {
        return aggregation;
    }

    public StringArrayParam ignoreLabels() {
        return ignoreLabels;
    }

    public IntParam stride() {
        return stride;
    }

    public String getAggregation() {
        return getOrDefault(aggregation);
    }

    /** Sets the aggregation: none, simple, first, average or max. */
    public XlmrTokenClassifier setAggregation(String name) {
        set(aggregation, TokenClassificationPipeline.Aggregation.parse(name).name().toLowerCase(Locale.ROOT));
        return this;
    }

    public String[] getIgnoreLabels() {
        return getOrDefault(ignoreLabels);
    }

    public XlmrTokenClassifier setIgnoreLabels(String[] labels) {
        set(ignoreLabels, labels);
        return this;
    }

    public int getStride() {
        return (Integer) getOrDefault(stride);
    }

    public XlmrTokenClassifier setStride(int tokens) {
        set(stride, tokens);
        return this;
    }

    /** The pipeline options these params stand for. */
    TokenClassificationPipeline.Options options() {
        return new TokenClassificationPipeline.Options(TokenClassificationPipeline.Aggregation.parse(getAggregation()),
                Arrays.asList(getIgnoreLabels()), getStride());
    }

    @Override
    DataType outputType() {
        return DataTypes.createArrayType(ENTITY, false);
    }

    @Override
    Task task() {
        TokenClassificationPipeline.Options o = options();
        return new NerTask(getModel(), getRevision(), getBatchSize(), getMaxLength(), o.aggregation(), o.ignoreLabels(),
                o.stride());
    }

    private static final class NerTask extends Task {
        private static final long serialVersionUID = 1L;
        private final TokenClassificationPipeline.Aggregation aggregation;
        private final List<String> ignoreLabels;
        private final int stride;

        NerTask(String model, String revision, int batchSize, int maxLength, TokenClassificationPipeline.Aggregation aggregation,
                List<String> ignoreLabels, int stride) {
            super(model, revision, batchSize, maxLength);
            this.aggregation = aggregation;
            this.ignoreLabels = List.copyOf(ignoreLabels);
            this.stride = stride;
        }

        @Override
        Batcher open() {
            TokenClassificationPipeline p = ModelCache.pipeline(TokenClassificationPipeline.class, this,
                    m -> new TokenClassificationPipeline(m.encoder(), m.tokenizer()));
            TokenClassificationPipeline.Options o = new TokenClassificationPipeline.Options(aggregation, ignoreLabels, stride);
            return (texts, pairs) -> {
                List<List<TokenClassificationPipeline.Entity>> all = p.recognizeAll(texts, o);
                Object[] out = new Object[all.size()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = all.get(i).stream().map(NerTask::row).toArray(Row[]::new);
                }
                return out;
            };
        }

        private static Row row(TokenClassificationPipeline.Entity e) {
            return RowFactory.create(e.entity(), e.score(), e.grouped() ? null : e.index(), e.word(), e.start(), e.end());
        }

        @Override
        Object emptyResult() {
            return new Row[0];
        }
    }
}
