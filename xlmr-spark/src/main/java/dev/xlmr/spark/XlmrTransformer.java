package dev.xlmr.spark;

import java.util.Arrays;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * What the XLM-R transformers share: a string input column, an output column, the model reference
 * and batching. The model is named, never copied: {@link #setModel} takes a folder that every
 * executor can read (memory-mapped there) or a Hugging Face hub id (fetched into each executor's
 * cache), and save/load store that name and the revision, not the weights.
 *
 * <p>On the executors each JVM loads a model once and shares it between tasks and transformers;
 * rows are run in batches of {@link #getBatchSize()} texts of similar length and come back in their
 * order. A null text gives a null result, an empty or blank text an empty result (an empty array,
 * or null where the result is a single struct), without running the model.
 *
 * @param <T> the concrete transformer, which the setters return
 */
public abstract class XlmrTransformer<T extends XlmrTransformer<T>> extends Transformer implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final Param<String> inputCol;
    private final Param<String> outputCol;
    private final Param<String> model;
    private final Param<String> revision;
    private final IntParam batchSize;
    private final IntParam maxLength;

    XlmrTransformer(String uid, String defaultOutputCol) {
        this.uid = uid;   // before the params, which take it from their parent
        inputCol = new Param<>(this, "inputCol", "the text column (string)");
        outputCol = new Param<>(this, "outputCol", "the result column");
        model = new Param<>(this, "model",
                "the model: a folder every executor can read, or a Hugging Face hub id such as org/name");
        revision = new Param<>(this, "revision", "the hub revision (branch, tag or commit) of a hub id");
        batchSize = new IntParam(this, "batchSize", "texts per forward pass (>= 1)", ParamValidators.gtEq(1));
        maxLength = new IntParam(this, "maxLength",
                "the longest input in tokens; 0: what the model allows", ParamValidators.gtEq(0));
        setDefault(inputCol, "text");
        setDefault(outputCol, defaultOutputCol);
        setDefault(revision, "main");
        setDefault(batchSize, 32);
        setDefault(maxLength, 0);
    }

    @Override
    public String uid() {
        return uid;
    }

    @SuppressWarnings("unchecked")
    final T self() {
        return (T) this;
    }

    /** The text column (string); default "text". */
    public Param<String> inputCol() {
        return inputCol;
    }

    /** The result column. */
    public Param<String> outputCol() {
        return outputCol;
    }

    /** The model: a folder every executor can read, or a hub id such as {@code org/name}. */
    public Param<String> model() {
        return model;
    }

    /** The hub revision of a hub id (branch, tag or commit); default "main", ignored for folders. */
    public Param<String> revision() {
        return revision;
    }

    /** Texts per forward pass; default 32. */
    public IntParam batchSize() {
        return batchSize;
    }

    /** The longest input in tokens (longer texts are truncated, or windowed for NER); 0, the default: the model's limit. */
    public IntParam maxLength() {
        return maxLength;
    }

    public String getInputCol() {
        return getOrDefault(inputCol);
    }

    public T setInputCol(String column) {
        set(inputCol, column);
        return self();
    }

    public String getOutputCol() {
        return getOrDefault(outputCol);
    }

    public T setOutputCol(String column) {
        set(outputCol, column);
        return self();
    }

    /** The model reference, or null when not set. */
    public String getModel() {
        return isDefined(model) ? getOrDefault(model) : null;
    }

    /**
     * Sets the model: a folder path that every executor can read (use an absolute path or a shared
     * file system mount; relative paths resolve against each executor's working folder), or a hub id
     * such as {@code intfloat/multilingual-e5-base}, which each executor fetches into its Hugging Face
     * cache ({@code HF_HOME}, {@code HF_HUB_OFFLINE} and {@code HF_TOKEN} apply there).
     */
    public T setModel(String modelOrPath) {
        if (modelOrPath == null || modelOrPath.isBlank()) {
            throw new IllegalArgumentException("the model must be a folder or a hub id, got '" + modelOrPath + "'");
        }
        set(model, modelOrPath);
        return self();
    }

    public String getRevision() {
        return getOrDefault(revision);
    }

    public T setRevision(String rev) {
        set(revision, rev);
        return self();
    }

    public int getBatchSize() {
        return (Integer) getOrDefault(batchSize);
    }

    public T setBatchSize(int n) {
        set(batchSize, n);
        return self();
    }

    public int getMaxLength() {
        return (Integer) getOrDefault(maxLength);
    }

    public T setMaxLength(int tokens) {
        set(maxLength, tokens);
        return self();
    }

    // ---- what each transformer adds ------------------------------------------------------------

    /** The type of the output column. */
    abstract DataType outputType();

    /** The metadata of the output column. */
    Metadata outputMetadata() {
        return Metadata.empty();
    }

    /** What the executors run, with the model reference and the options of this transformer. */
    abstract Task task();

    /** The column of second texts, or null (text pairs for sequence classification). */
    String pairColumn() {
        return null;
    }

    // ---- Transformer ---------------------------------------------------------------------------

    @Override
    public StructType transformSchema(StructType schema) {
        checkStringColumn(schema, getInputCol(), "input");
        if (pairColumn() != null) {
            checkStringColumn(schema, pairColumn(), "text pair");
        }
        if (Arrays.asList(schema.fieldNames()).contains(getOutputCol())) {
            throw new IllegalArgumentException("the output column '" + getOutputCol() + "' already exists; "
                    + "choose another with setOutputCol");
        }
        if (getModel() == null) {
            throw new IllegalArgumentException(getClass().getSimpleName()
                    + ": no model set; call setModel with a folder or a hub id such as org/name");
        }
        return schema.add(new StructField(getOutputCol(), outputType(), true, outputMetadata()));
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType in = dataset.schema();
        StructType out = transformSchema(in, true);
        int text = in.fieldIndex(getInputCol());
        int pair = pairColumn() == null ? -1 : in.fieldIndex(pairColumn());
        Dataset<Row> result = dataset.toDF().mapPartitions(new PartitionRunner(task(), text, pair), Encoders.row(out));
        // the row encoder drops the columns' metadata (ML attributes, Spark NLP's annotatorType): put it back
        Column[] columns = new Column[out.size()];
        for (int i = 0; i < columns.length; i++) {
            StructField f = out.fields()[i];
            columns[i] = result.col("`" + f.name().replace("`", "``") + "`").as(f.name(), f.metadata());
        }
        return result.select(columns);
    }

    @Override
    public T copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    private static void checkStringColumn(StructType schema, String name, String what) {
        if (!Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException("the " + what + " column '" + name + "' does not exist; the columns are "
                    + Arrays.toString(schema.fieldNames()));
        }
        DataType type = schema.apply(name).dataType();
        if (!type.equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("the " + what + " column '" + name + "' must be of type string, but is "
                    + type.simpleString());
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(uid=" + uid + ", model=" + getModel() + ")";
    }
}
