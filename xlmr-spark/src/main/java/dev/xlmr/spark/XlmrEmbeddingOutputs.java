package dev.xlmr.spark;

import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.pipelines.EmbeddingPipeline.Output;
import dev.xlmr.pipelines.MultiEmbedding;
import dev.xlmr.pipelines.SparseEmbedding;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The embedding outputs of one forward pass as columns: dense (the sentence embedding), sparse (BGE-M3
 * lexical weights or a SPLADE vector) and ColBERT (BGE-M3 multi-vectors), as {@link EmbeddingPipeline#encode}
 * computes them, with Matryoshka dimensions, top-k sparse pruning and long texts through overlapping windows.
 *
 * <p>Column types: dense {@code array<float>}, or a Spark ML {@code Vector} with {@code setMlVectors(true)};
 * sparse {@code map<int,float>} (token id to weight), or an ML {@code SparseVector} over the vocabulary with
 * {@code setMlVectors(true)}; ColBERT {@code array<array<float>>}. A null text gives nulls, a blank one too.
 *
 * <pre>{@code
 * XlmrEmbeddingOutputs m3 = new XlmrEmbeddingOutputs()
 *         .setModel("BAAI/bge-m3").setInputCol("text")
 *         .setOutputs("dense,sparse,colbert")       // or "all"
 *         .setLongInputs("windows").setOverlap(64);  // long texts: overlapping windows
 * Dataset<Row> out = m3.transform(df);             // text, ..., dense, sparse, colbert
 * }</pre>
 */
public final class XlmrEmbeddingOutputs extends XlmrEmbeddingTransformer<XlmrEmbeddingOutputs> {
    private static final long serialVersionUID = 1L;

    private final Param<String> outputs;
    private final Param<String> denseCol;
    private final Param<String> sparseCol;
    private final Param<String> colbertCol;
    private final BooleanParam mlVectors;
    private final IntParam dimensions;
    private final IntParam maxActiveDims;
    private final Param<String> longInputs;
    private final IntParam overlap;

    public XlmrEmbeddingOutputs() {
        this(Identifiable.randomUID("xlmrEmbeddingOutputs"));
    }

    /** With a given uid (Spark's readers use this constructor). */
    public XlmrEmbeddingOutputs(String uid) {
        super(uid, "xlmr_outputs", "input");
        outputs = new Param<>(this, "outputs", "comma-separated dense, sparse, colbert, or all");
        denseCol = new Param<>(this, "denseCol", "the column of the sentence embedding");
        sparseCol = new Param<>(this, "sparseCol", "the column of the sparse vector");
        colbertCol = new Param<>(this, "colbertCol", "the column of the ColBERT vectors");
        mlVectors = new BooleanParam(this, "mlVectors", "dense as an ML Vector, sparse as an ML SparseVector");
        dimensions = new IntParam(this, "dimensions", "keep the first N values of the dense embedding; 0: all",
                ParamValidators.gtEq(0));
        maxActiveDims = new IntParam(this, "maxActiveDims", "keep the K largest sparse weights; 0: all",
                ParamValidators.gtEq(0));
        longInputs = new Param<>(this, "longInputs", "truncate or windows (texts longer than the window)",
                ParamValidators.inArray(new String[] {"truncate", "windows"}));
        overlap = new IntParam(this, "overlap", "tokens shared by neighbouring windows; -1: a quarter of the window",
                ParamValidators.gtEq(-1));
        setDefault(outputs, "dense");
        setDefault(denseCol, "dense");
        setDefault(sparseCol, "sparse");
        setDefault(colbertCol, "colbert");
        setDefault(mlVectors, false);
        setDefault(dimensions, 0);
        setDefault(maxActiveDims, 0);
        setDefault(longInputs, "truncate");
        setDefault(overlap, -1);
    }

    /** Reads a saved transformer (for {@code MLReadable} and {@code PipelineModel.load}). */
    public static MLReader<XlmrEmbeddingOutputs> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads a transformer saved with {@code write().save(path)}. */
    public static XlmrEmbeddingOutputs load(String path) {
        return read().load(path);
    }

    // ---- the params (Spark finds them through these public accessors) ----

    public Param<String> outputs() {
        return outputs;
    }

    public Param<String> denseCol() {
        return denseCol;
    }

    public Param<String> sparseCol() {
        return sparseCol;
    }

    public Param<String> colbertCol() {
        return colbertCol;
    }

    public BooleanParam mlVectors() {
        return mlVectors;
    }

    public IntParam dimensions() {
        return dimensions;
    }

    public IntParam maxActiveDims() {
        return maxActiveDims;
    }

    public Param<String> longInputs() {
        return longInputs;
    }

    public IntParam overlap() {
        return overlap;
    }

    /** The outputs asked for, in dense, sparse, colbert order. */
    public Set<Output> getOutputs() {
        return parseOutputs(getOrDefault(outputs));
    }

    /** Sets the outputs: "dense", "sparse", "colbert", comma-separated, or "all". */
    public XlmrEmbeddingOutputs setOutputs(String list) {
        parseOutputs(list);   // a clear error for unknown names, on the driver
        set(outputs, list);
        return this;
    }

    private static Set<Output> parseOutputs(String list) {
        if (list.trim().equalsIgnoreCase("all")) {
            return EnumSet.allOf(Output.class);
        }
        Set<Output> out = EnumSet.noneOf(Output.class);
        for (String s : list.split(",")) {
            if (!s.isBlank()) {
                out.add(Output.parse(s));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("ask for at least one output (dense, sparse, colbert)");
        }
        return out;
    }

    public String getDenseCol() {
        return getOrDefault(denseCol);
    }

    public XlmrEmbeddingOutputs setDenseCol(String c) {
        set(denseCol, c);
        return this;
    }

    public String getSparseCol() {
        return getOrDefault(sparseCol);
    }

    public XlmrEmbeddingOutputs setSparseCol(String c) {
        set(sparseCol, c);
        return this;
    }

    public String getColbertCol() {
        return getOrDefault(colbertCol);
    }

    public XlmrEmbeddingOutputs setColbertCol(String c) {
        set(colbertCol, c);
        return this;
    }

    public boolean getMlVectors() {
        return (Boolean) getOrDefault(mlVectors);
    }

    /** Dense as an ML {@code Vector} and sparse as an ML {@code SparseVector} over the vocabulary. */
    public XlmrEmbeddingOutputs setMlVectors(boolean on) {
        set(mlVectors, on);
        return this;
    }

    public int getDimensions() {
        return (Integer) getOrDefault(dimensions);
    }

    public XlmrEmbeddingOutputs setDimensions(int n) {
        set(dimensions, n);
        return this;
    }

    public int getMaxActiveDims() {
        return (Integer) getOrDefault(maxActiveDims);
    }

    public XlmrEmbeddingOutputs setMaxActiveDims(int k) {
        set(maxActiveDims, k);
        return this;
    }

    public String getLongInputs() {
        return getOrDefault(longInputs);
    }

    /** "truncate" (the default) or "windows": long texts through overlapping windows ({@link dev.xlmr.pipelines.LongDocuments}). */
    public XlmrEmbeddingOutputs setLongInputs(String mode) {
        set(longInputs, EmbeddingPipeline.LongInputs.parse(mode).name().toLowerCase(Locale.ROOT));
        return this;
    }

    public int getOverlap() {
        return (Integer) getOrDefault(overlap);
    }

    public XlmrEmbeddingOutputs setOverlap(int tokens) {
        set(overlap, tokens);
        return this;
    }

    /** The pipeline options these params stand for. */
    EmbeddingPipeline.Options options() {
        return new EmbeddingPipeline.Options(EmbeddingPipeline.Pooling.AUTO, getNormalize(), getPromptName(), getPrefix(),
                getDimensions(), getMaxActiveDims(), EmbeddingPipeline.LongInputs.parse(getLongInputs()), getOverlap());
    }

    /** The output columns: name and type of each output asked for. */
    private Map<Output, StructField> fields() {
        Map<Output, StructField> f = new LinkedHashMap<>();
        boolean ml = getMlVectors();
        for (Output o : getOutputs()) {
            f.put(o, switch (o) {
                case DENSE -> new StructField(getDenseCol(), ml ? SQLDataTypes.VectorType()
                        : DataTypes.createArrayType(DataTypes.FloatType, false), true, org.apache.spark.sql.types.Metadata.empty());
                case SPARSE -> new StructField(getSparseCol(), ml ? SQLDataTypes.VectorType()
                        : DataTypes.createMapType(DataTypes.IntegerType, DataTypes.FloatType, false), true,
                        org.apache.spark.sql.types.Metadata.empty());
                case COLBERT -> new StructField(getColbertCol(), DataTypes.createArrayType(
                        DataTypes.createArrayType(DataTypes.FloatType, false), false), true,
                        org.apache.spark.sql.types.Metadata.empty());
            });
        }
        return f;
    }

    /** The struct the executors fill; {@link #transform} spreads it into the output columns. */
    @Override
    DataType outputType() {
        return new StructType(fields().values().toArray(new StructField[0]));
    }

    @Override
    public StructType transformSchema(StructType schema) {
        StructType with = super.transformSchema(schema);   // checks the input column, the model and the struct's name
        StructType out = new StructType(Arrays.copyOf(with.fields(), with.fields().length - 1));
        for (StructField f : fields().values()) {
            if (Arrays.asList(schema.fieldNames()).contains(f.name())) {
                throw new IllegalArgumentException("the output column '" + f.name() + "' already exists; choose another");
            }
            out = out.add(f);
        }
        return out;
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType in = dataset.schema();
        transformSchema(in);
        StructType struct = super.transformSchema(in);
        int text = in.fieldIndex(getInputCol());
        Dataset<Row> result = dataset.toDF().mapPartitions(new PartitionRunner(task(), text, -1), Encoders.row(struct));
        List<Column> columns = new ArrayList<>();
        for (String name : in.fieldNames()) {
            columns.add(result.col("`" + name.replace("`", "``") + "`"));
        }
        Column packed = result.col("`" + getOutputCol().replace("`", "``") + "`");
        for (StructField f : fields().values()) {
            columns.add(packed.getField(f.name()).as(f.name()));
        }
        return result.select(columns.toArray(new Column[0]));
    }

    @Override
    Task task() {
        options();   // a prompt name together with a prefix fails here, on the driver
        return new OutputsTask(getModel(), getRevision(), getBatchSize(), getMaxLength(), getOrDefault(outputs),
                getMlVectors(), getNormalize(), getPromptName(), getPrefix(), getDimensions(), getMaxActiveDims(),
                getLongInputs(), getOverlap());
    }

    /** The options as plain fields (records are not serializable). */
    private static final class OutputsTask extends Task {
        private static final long serialVersionUID = 1L;
        private final String outputs;
        private final boolean ml;
        private final boolean normalize;
        private final String promptName;
        private final String prefix;
        private final int dimensions;
        private final int maxActiveDims;
        private final String longInputs;
        private final int overlap;

        OutputsTask(String model, String revision, int batchSize, int maxLength, String outputs, boolean ml,
                    boolean normalize, String promptName, String prefix, int dimensions, int maxActiveDims,
                    String longInputs, int overlap) {
            super(model, revision, batchSize, maxLength);
            this.outputs = outputs;
            this.ml = ml;
            this.normalize = normalize;
            this.promptName = promptName;
            this.prefix = prefix;
            this.dimensions = dimensions;
            this.maxActiveDims = maxActiveDims;
            this.longInputs = longInputs;
            this.overlap = overlap;
        }

        @Override
        Batcher open() {
            EmbeddingPipeline.Options options = new EmbeddingPipeline.Options(EmbeddingPipeline.Pooling.AUTO, normalize,
                    promptName, prefix, dimensions, maxActiveDims, EmbeddingPipeline.LongInputs.parse(longInputs), overlap);
            EmbeddingPipeline p = ModelCache.pipeline(EmbeddingPipeline.class, this,
                    m -> new EmbeddingPipeline(m.encoder(), m.tokenizer(), m.dir()));
            Set<Output> asked = parseOutputs(outputs);
            int vocab = p.config().vocabSize();
            return (texts, pairs) -> {
                List<MultiEmbedding> got = p.encode(texts, options, asked);
                Object[] out = new Object[got.size()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = row(got.get(i), asked, vocab);
                }
                return out;
            };
        }

        private Row row(MultiEmbedding m, Set<Output> asked, int vocab) {
            List<Object> values = new ArrayList<>();
            for (Output o : asked) {
                values.add(switch (o) {
                    case DENSE -> ml ? Vectors.dense(doubles(m.dense())) : m.dense();
                    case SPARSE -> ml ? sparseVector(m.sparse(), vocab) : scalaMap(m.sparse());
                    case COLBERT -> m.colbert();
                });
            }
            return RowFactory.create(values.toArray());
        }

        @Override
        Object emptyResult() {
            return null;
        }
    }

    private static double[] doubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    /** An ML SparseVector over the vocabulary (indices ascending, as it requires). */
    static org.apache.spark.ml.linalg.Vector sparseVector(SparseEmbedding s, int size) {
        Integer[] order = new Integer[s.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Integer.compare(s.ids()[a], s.ids()[b]));
        int[] idx = new int[order.length];
        double[] val = new double[order.length];
        for (int i = 0; i < order.length; i++) {
            idx[i] = s.ids()[order[i]];
            val[i] = s.values()[order[i]];
        }
        return Vectors.sparse(size, idx, val);
    }

    /** A Spark map value (a Scala map) of the sparse entries, in their order. */
    private static scala.collection.Map<Integer, Float> scalaMap(SparseEmbedding s) {
        Map<Integer, Float> m = new LinkedHashMap<>();
        for (int i = 0; i < s.size(); i++) {
            m.put(s.ids()[i], s.values()[i]);
        }
        return scala.jdk.javaapi.CollectionConverters.asScala(m);
    }
}
