package dev.xlmr.spark;

import dev.xlmr.pipelines.EmbeddingPipeline;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Late chunking ({@link EmbeddingPipeline#lateChunking}, {@link dev.xlmr.pipelines.LongDocuments}): an
 * {@code array<string>} column holds the chunks of each document; the output column {@code array<array<float>>}
 * one vector per chunk, each from the token vectors of the whole document (windowed when it is longer than the
 * window). A {@code string} column is a document of one chunk. Null or empty documents give null.
 *
 * <pre>{@code
 * XlmrLateChunking chunks = new XlmrLateChunking().setModel("BAAI/bge-m3")
 *         .setInputCol("chunks").setOutputCol("chunk_embeddings").setOverlap(64);
 * Dataset<Row> out = chunks.transform(docs);   // chunks: array<string> -> chunk_embeddings: array<array<float>>
 * }</pre>
 */
public final class XlmrLateChunking extends XlmrEmbeddingTransformer<XlmrLateChunking> {
    private static final long serialVersionUID = 1L;

    private final IntParam dimensions;
    private final IntParam overlap;

    public XlmrLateChunking() {
        this(Identifiable.randomUID("xlmrLateChunking"));
    }

    /** With a given uid (Spark's readers use this constructor). */
    public XlmrLateChunking(String uid) {
        super(uid, "chunk_embeddings", "document");
        dimensions = new IntParam(this, "dimensions", "keep the first N values of each vector; 0: all", ParamValidators.gtEq(0));
        overlap = new IntParam(this, "overlap", "tokens shared by neighbouring windows; -1: a quarter of the window",
                ParamValidators.gtEq(-1));
        setDefault(dimensions, 0);
        setDefault(overlap, -1);
    }

    /** Reads a saved transformer (for {@code MLReadable} and {@code PipelineModel.load}). */
    public static MLReader<XlmrLateChunking> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads a transformer saved with {@code write().save(path)}. */
    public static XlmrLateChunking load(String path) {
        return read().load(path);
    }

    public IntParam dimensions() {
        return dimensions;
    }

    public IntParam overlap() {
        return overlap;
    }

    public int getDimensions() {
        return (Integer) getOrDefault(dimensions);
    }

    public XlmrLateChunking setDimensions(int n) {
        set(dimensions, n);
        return this;
    }

    public int getOverlap() {
        return (Integer) getOrDefault(overlap);
    }

    public XlmrLateChunking setOverlap(int tokens) {
        set(overlap, tokens);
        return this;
    }

    @Override
    DataType outputType() {
        return DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType, false), false);
    }

    private boolean chunkColumn(StructType schema) {
        return Arrays.asList(schema.fieldNames()).contains(getInputCol())
                && schema.apply(getInputCol()).dataType() instanceof org.apache.spark.sql.types.ArrayType a
                && a.elementType().equals(DataTypes.StringType);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        if (!chunkColumn(schema)) {
            return super.transformSchema(schema);   // a string column (or a clear error for anything else)
        }
        if (Arrays.asList(schema.fieldNames()).contains(getOutputCol())) {
            throw new IllegalArgumentException("the output column '" + getOutputCol() + "' already exists; "
                    + "choose another with setOutputCol");
        }
        if (getModel() == null) {
            throw new IllegalArgumentException("XlmrLateChunking: no model set; call setModel with a folder or a hub id");
        }
        return schema.add(new StructField(getOutputCol(), outputType(), true, org.apache.spark.sql.types.Metadata.empty()));
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType in = dataset.schema();
        if (!chunkColumn(in)) {
            return super.transform(dataset);
        }
        StructType out = transformSchema(in);
        return dataset.toDF().mapPartitions(new Documents(settings(), in.fieldIndex(getInputCol())), Encoders.row(out));
    }

    /** What the executors need, as plain values (records are not serializable). */
    private Settings settings() {
        return new Settings(getModel(), getRevision(), getBatchSize(), getMaxLength(), getNormalize(), getPromptName(),
                getPrefix(), getDimensions(), getOverlap());
    }

    private static final class Settings implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        final String model;
        final String revision;
        final int batchSize;
        final int maxLength;
        final boolean normalize;
        final String promptName;
        final String prefix;
        final int dimensions;
        final int overlap;

        Settings(String model, String revision, int batchSize, int maxLength, boolean normalize, String promptName,
                 String prefix, int dimensions, int overlap) {
            this.model = model;
            this.revision = revision;
            this.batchSize = batchSize;
            this.maxLength = maxLength;
            this.normalize = normalize;
            this.promptName = promptName;
            this.prefix = prefix;
            this.dimensions = dimensions;
            this.overlap = overlap;
        }

        EmbeddingPipeline pipeline() {
            return ModelCache.pipeline(EmbeddingPipeline.class, model, revision, batchSize, maxLength,
                    m -> new EmbeddingPipeline(m.encoder(), m.tokenizer(), m.dir()));
        }

        EmbeddingPipeline.Options options() {
            return new EmbeddingPipeline.Options(EmbeddingPipeline.Pooling.AUTO, normalize, promptName, prefix, dimensions,
                    0, EmbeddingPipeline.LongInputs.TRUNCATE, overlap);
        }
    }

    /** Late chunking of {@code batchSize} documents at a time, the rows in their order. */
    private static final class Documents implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final Settings settings;
        private final int column;

        Documents(Settings settings, int column) {
            this.settings = settings;
            this.column = column;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> input) {
            EmbeddingPipeline p = settings.pipeline();
            EmbeddingPipeline.Options o = settings.options();
            return new Iterator<>() {
                private final java.util.ArrayDeque<Row> ready = new java.util.ArrayDeque<>();

                @Override
                public boolean hasNext() {
                    if (ready.isEmpty() && input.hasNext()) {
                        List<Row> rows = new ArrayList<>();
                        while (input.hasNext() && rows.size() < settings.batchSize) {
                            rows.add(input.next());
                        }
                        List<List<String>> docs = new ArrayList<>();
                        for (Row r : rows) {
                            List<String> chunks = r.isNullAt(column) ? null : r.getList(column);
                            if (chunks != null && !chunks.isEmpty()) {
                                docs.add(chunks);
                            }
                        }
                        List<List<float[]>> got = docs.isEmpty() ? List.of() : p.lateChunkingAll(docs, o);
                        int at = 0;
                        for (Row r : rows) {
                            List<String> chunks = r.isNullAt(column) ? null : r.getList(column);
                            Object value = chunks == null || chunks.isEmpty() ? null
                                    : got.get(at++).toArray(new float[0][]);
                            Object[] values = new Object[r.size() + 1];
                            for (int i = 0; i < r.size(); i++) {
                                values[i] = r.get(i);
                            }
                            values[r.size()] = value;
                            ready.add(RowFactory.create(values));
                        }
                    }
                    return !ready.isEmpty();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new java.util.NoSuchElementException();
                    }
                    return ready.poll();
                }
            };
        }
    }

    /** A string column: each text is a document of one chunk. */
    @Override
    Task task() {
        Settings s = settings();
        return new OneChunk(s);
    }

    private static final class OneChunk extends Task {
        private static final long serialVersionUID = 1L;
        private final Settings settings;

        OneChunk(Settings s) {
            super(s.model, s.revision, s.batchSize, s.maxLength);
            this.settings = s;
        }

        @Override
        Batcher open() {
            EmbeddingPipeline p = settings.pipeline();
            EmbeddingPipeline.Options o = settings.options();
            return (texts, pairs) -> {
                List<List<String>> docs = new ArrayList<>();
                for (String t : texts) {
                    docs.add(List.of(t));
                }
                return p.lateChunkingAll(docs, o).stream().map(c -> c.toArray(new float[0][])).toArray();
            };
        }

        @Override
        Object emptyResult() {
            return null;
        }
    }
}
