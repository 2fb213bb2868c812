package dev.xlmr.spark;

import dev.xlmr.pipelines.TextClassificationPipeline;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Sequence classification (sentiment, topics, ...) of a text or a text pair, as
 * {@link TextClassificationPipeline}: a {@code struct<label: string, score: double,
 * scores: map<string, double>>} column with the best label, its score and every label's score
 * (best first).
 *
 * <pre>{@code
 * XlmrSequenceClassifier clf = new XlmrSequenceClassifier()
 *         .setModel("cardiffnlp/twitter-xlm-roberta-base-sentiment")
 *         .setInputCol("text").setOutputCol("sentiment");
 * clf.transform(df).select(col("text"), col("sentiment.label"), col("sentiment.score"));
 * }</pre>
 *
 * The scores come from softmax or sigmoid as transformers chooses for the model (its
 * {@code problem_type} and number of labels) unless {@link #setFunctionToApply} says otherwise. With
 * {@link #setTextPairCol} each row is a (text, text pair) input; a null pair means the text alone.
 * Texts longer than the model allows are truncated. Null texts give null, empty or blank texts null.
 */
public final class XlmrSequenceClassifier extends XlmrTransformer<XlmrSequenceClassifier> {
    private static final long serialVersionUID = 1L;

    static final StructType RESULT = new StructType()
            .add("label", DataTypes.StringType, false)
            .add("score", DataTypes.DoubleType, false)
            .add("scores", DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType, false), false);

    private final Param<String> textPairCol;
    private final Param<String> functionToApply;

    public XlmrSequenceClassifier() {
        this(Identifiable.randomUID("xlmrSequenceClassifier"));
    }

    /** With a given uid (Spark's readers use this constructor). */
    public XlmrSequenceClassifier(String uid) {
        super(uid, "prediction");
        textPairCol = new Param<>(this, "textPairCol", "an optional column of second texts (string) for text pairs");
        functionToApply = new Param<>(this, "functionToApply",
                "default (as transformers: by problem_type and number of labels), softmax, sigmoid or none",
                ParamValidators.inArray(new String[] {"default", "softmax", "sigmoid", "none"}));
        setDefault(functionToApply, "default");
    }

    /** Reads a saved transformer (for {@code MLReadable} and {@code PipelineModel.load}). */
    public static MLReader<XlmrSequenceClassifier> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads a transformer saved with {@code write().save(path)}. */
    public static XlmrSequenceClassifier load(String path) {
        return read().load(path);
    }

    public Param<String> textPairCol() {
        return textPairCol;
    }

    public Param<String> functionToApply() {
        return functionToApply;
    }

    /** The column of second texts, or null. */
    public String getTextPairCol() {
        return isDefined(textPairCol) ? getOrDefault(textPairCol) : null;
    }

    /** Classifies (text, text pair) inputs, the pair from this string column. */
    public XlmrSequenceClassifier setTextPairCol(String column) {
        set(textPairCol, column);
        return this;
    }

    public String getFunctionToApply() {
        return getOrDefault(functionToApply);
    }

    /** Sets the function on the logits: default, softmax, sigmoid or none. */
    public XlmrSequenceClassifier setFunctionToApply(String name) {
        set(functionToApply, XlmrTokenEmbeddings.choice(name, "function", "default", "softmax", "sigmoid", "none"));
        return this;
    }

    @Override
    String pairColumn() {
        return getTextPairCol();
    }

    @Override
    DataType outputType() {
        return RESULT;
    }

    @Override
    Task task() {
        String f = getFunctionToApply();
        return new ClassifyTask(getModel(), getRevision(), getBatchSize(), getMaxLength(),
                f.equals("default") ? null : TextClassificationPipeline.Function.parse(f));
    }

    /** The result struct of labels best first. */
    static Row result(List<String> labels, List<Double> scores) {
        Map<String, Double> all = new LinkedHashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            all.put(labels.get(i), scores.get(i));
        }
        return RowFactory.create(labels.get(0), scores.get(0), CollectionConverters.asScala(all));
    }

    private static final class ClassifyTask extends Task {
        private static final long serialVersionUID = 1L;
        private final TextClassificationPipeline.Function function;

        ClassifyTask(String model, String revision, int batchSize, int maxLength, TextClassificationPipeline.Function function) {
            super(model, revision, batchSize, maxLength);
            this.function = function;
        }

        @Override
        Batcher open() {
            TextClassificationPipeline p = ModelCache.pipeline(TextClassificationPipeline.class, this,
                    m -> new TextClassificationPipeline(m.encoder(), m.tokenizer()));
            TextClassificationPipeline.Options o = TextClassificationPipeline.Options.all().function(function);
            return (texts, pairs) -> {
                List<List<TextClassificationPipeline.Label>> all = p.classifyAll(texts, pairs, o);
                Object[] out = new Object[all.size()];
                for (int i = 0; i < out.length; i++) {
                    List<TextClassificationPipeline.Label> ls = all.get(i);
                    out[i] = result(ls.stream().map(TextClassificationPipeline.Label::label).toList(),
                            ls.stream().map(TextClassificationPipeline.Label::score).toList());
                }
                return out;
            };
        }

        @Override
        Object emptyResult() {
            return null;
        }
    }
}
