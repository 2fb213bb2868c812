package dev.xlmr.spark;

import static dev.xlmr.spark.TestSpark.SPARK;
import static dev.xlmr.spark.TestSpark.assertClose;
import static dev.xlmr.spark.TestSpark.floats;
import static dev.xlmr.spark.TestSpark.frame;
import static dev.xlmr.spark.TestSpark.model;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.pipelines.EmbeddingPipeline;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SentenceEmbeddingsTest {
    private static EmbeddingPipeline reference;

    @BeforeAll
    static void load() {
        reference = EmbeddingPipeline.load(model("xlmr-base"));
        reference.warnings(s -> { });
    }

    @AfterAll
    static void close() {
        reference.close();
    }

    /** What the single-JVM pipeline gives, blank texts as empty vectors and nulls as null. */
    private static List<float[]> expected(List<String> texts, EmbeddingPipeline.Options o) {
        List<String> work = texts.stream().filter(t -> t != null && !t.isBlank()).toList();
        List<float[]> vs = reference.embedAll(work, o);
        List<float[]> out = new ArrayList<>();
        int k = 0;
        for (String t : texts) {
            out.add(t == null ? null : t.isBlank() ? new float[0] : vs.get(k++));
        }
        return out;
    }

    @Test
    void sameAsThePipelineInOrderOverUnevenPartitions() {
        // the edge cases (blank lines, control characters, <mask>, ...) and long lines that get truncated
        List<String> texts = new ArrayList<>(TestSpark.corpus().subList(0, 150));
        texts.addAll(TestSpark.corpus().stream().filter(t -> t.length() > 900).limit(3).toList());
        texts.add(3, null);
        Dataset<Row> df = frame(texts, 7, 120, 1, texts.size() - 128);
        assertEquals(4, df.rdd().getNumPartitions());

        List<Row> rows = new XlmrSentenceEmbeddings().setModel(model("xlmr-base")).setBatchSize(8)
                .transform(df).collectAsList();
        List<float[]> want = expected(texts, EmbeddingPipeline.Options.defaults());
        assertEquals(texts.size(), rows.size());
        for (int i = 0; i < rows.size(); i++) {
            assertEquals(i, rows.get(i).getInt(0), "row order");
            float[] got = floats(rows.get(i).get(2));
            if (want.get(i) == null) {
                assertNull(got, "null text");
            } else {
                assertClose(want.get(i), got, "row " + i + " " + texts.get(i));
            }
        }
    }

    @Test
    void optionsAsThePipelineAfterAShuffle() {
        List<String> texts = TestSpark.corpus().subList(200, 260);
        Dataset<Row> df = frame(texts, texts.size()).repartition(3);
        XlmrSentenceEmbeddings e = new XlmrSentenceEmbeddings().setModel(model("xlmr-base"))
                .setPooling("CLS").setNormalize(true).setPrefix("query: ").setOutputCol("v");
        assertEquals("cls", e.getPooling());
        List<float[]> want = expected(texts, EmbeddingPipeline.Options.defaults()
                .pooling(EmbeddingPipeline.Pooling.CLS).normalize(true).prefix("query: "));
        for (Row r : e.transform(df).collectAsList()) {
            int id = r.getInt(0);
            assertClose(want.get(id), floats(r.getAs("v")), "row " + id);
        }
    }

    @Test
    void nullsAndEmptyStrings() {
        Dataset<Row> df = frame(Arrays.asList(null, "", "   ", "Hello world!", null), 5);
        List<Row> rows = new XlmrSentenceEmbeddings().setModel(model("xlmr-base")).transform(df).collectAsList();
        assertNull(rows.get(0).get(2));
        assertEquals(0, floats(rows.get(1).get(2)).length);
        assertEquals(0, floats(rows.get(2).get(2)).length);
        assertClose(reference.embed("Hello world!"), floats(rows.get(3).get(2)), "Hello world!");
        assertNull(rows.get(4).get(2));
    }

    @Test
    void tenThousandRowsEndToEnd() {
        // 10,000 rows made in Spark from the 3,000 corpus lines (a broadcast join, no large task)
        List<String> corpus = TestSpark.corpus().subList(42, 3042);
        Dataset<Row> lines = frame(corpus, corpus.size()).withColumnRenamed("id", "line");
        Dataset<Row> df = SPARK.range(10_000).withColumn("line", col("id").mod(corpus.size()).cast("int"))
                .join(lines, "line").select(col("id").cast("int").as("id"), col("text")).repartition(4);
        long t0 = System.nanoTime();
        Dataset<Row> out = new XlmrSentenceEmbeddings().setModel(model("xlmr-base"))
                .setMaxLength(16)   // keeps the test fast: the plumbing is what is tested here
                .transform(df).cache();
        assertEquals(10_000, out.count());
        System.out.printf("xlmr-spark: 10,000 sentence embeddings in local[2]: %.1f s%n", (System.nanoTime() - t0) / 1e9);
        assertEquals(10_000, out.select("id").distinct().count());
        assertEquals(0, out.filter(col("embedding").isNull()).count());
        assertEquals(List.of(32), out.selectExpr("size(embedding) AS d").distinct().as(org.apache.spark.sql.Encoders.INT())
                .collectAsList());
        // spot checks against the pipeline with the same max length
        EmbeddingPipeline p = EmbeddingPipeline.load(model("xlmr-base"));
        p.warnings(s -> { });
        p.maxLength(16);
        for (Row r : out.filter(col("id").isin(0, 1, 2999, 3000, 9999)).collectAsList()) {
            assertClose(p.embed(r.getString(1)), floats(r.getAs("embedding")), "row " + r.getInt(0));
        }
        p.close();
        out.unpersist();
    }

    @Test
    void theModelIsLoadedOncePerJvm() {
        Dataset<Row> df = frame(TestSpark.corpus().subList(300, 340), 10, 10, 10, 10);
        XlmrSentenceEmbeddings e = new XlmrSentenceEmbeddings().setModel(model("xlmr-base"));
        e.transform(df).count();
        int loads = ModelCache.loads();
        e.transform(df).count();
        new XlmrSentenceEmbeddings().setModel(model("xlmr-base")).setPooling("max").transform(df).count();
        assertEquals(loads, ModelCache.loads(), "no further loads for the same model");
    }

    @Test
    void theModelRunsOnTheFastEngineWithTheExecutorsCores() {
        ModelCache.Model m = ModelCache.model(model("xlmr-base"), "main");
        // as the pipelines and the command line load it (Encoders.open), unless -Dxlmr.encoder=reference
        assertTrue(m.encoder() instanceof dev.xlmr.engine.FastEncoder || "reference".equals(System.getProperty("xlmr.encoder")),
                ModelCache.engine(m.encoder()));
        // the tests' session is local[2]: its tasks share one encoder whose kernels get both cores (or fewer)
        assertEquals(Math.min(2, Runtime.getRuntime().availableProcessors()), ModelCache.executorCores());
        // what each master gives the kernels on a 16-core machine
        assertEquals(1, ModelCache.cores("local", null, 16));
        assertEquals(4, ModelCache.cores("local[4]", "8", 16));
        assertEquals(3, ModelCache.cores("local[3, 2]", null, 16));
        assertEquals(16, ModelCache.cores("local[*]", null, 16));
        assertEquals(16, ModelCache.cores("local[64]", null, 16), "at most the machine's");
        assertEquals(5, ModelCache.cores("spark://host:7077", "5", 16));
        assertEquals(2, ModelCache.cores("local-cluster[2, 2, 1024]", "2", 16));
        assertEquals(16, ModelCache.cores("yarn", null, 16), "unknown: every core");
    }

    @Test
    void saveAndLoadKeepTheModelReferenceAndParams() throws Exception {
        XlmrSentenceEmbeddings e = new XlmrSentenceEmbeddings().setModel(model("xlmr-base")).setRevision("v1")
                .setPooling("mean").setNormalize(true).setPromptName("query").setBatchSize(4).setMaxLength(100)
                .setInputCol("t").setOutputCol("o");
        String path = TestSpark.tempDir().resolve("embed").toString();
        e.write().overwrite().save(path);
        XlmrSentenceEmbeddings back = XlmrSentenceEmbeddings.load(path);
        // Spark finds every param by reflection (explainParams, ParamGridBuilder, save/load)
        assertEquals(10, back.params().length);
        assertTrue(back.explainParams().contains("pooling: auto (the folder's sentence-transformers pooling"),
                back.explainParams());
        assertEquals(e.uid(), back.uid());
        assertEquals(model("xlmr-base"), back.getModel());
        assertEquals("v1", back.getRevision());
        assertEquals("mean", back.getPooling());
        assertTrue(back.getNormalize());
        assertEquals("query", back.getPromptName());
        assertNull(back.getPrefix());
        assertEquals(4, back.getBatchSize());
        assertEquals(100, back.getMaxLength());
        assertEquals("t", back.getInputCol());
        assertEquals("o", back.getOutputCol());
        // no weights in the saved folder
        try (var files = java.nio.file.Files.walk(java.nio.file.Path.of(path))) {
            long bytes = files.filter(java.nio.file.Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
            assertTrue(bytes < 10_000, "saved " + bytes + " bytes");
        }
    }

    @Test
    void clearErrors() {
        Dataset<Row> df = frame(List.of("a"), 1);
        XlmrSentenceEmbeddings e = new XlmrSentenceEmbeddings().setModel(model("xlmr-base"));

        IllegalArgumentException noColumn = assertThrows(IllegalArgumentException.class,
                () -> e.copy(new org.apache.spark.ml.param.ParamMap()).setInputCol("body").transform(df));
        assertTrue(noColumn.getMessage().contains("the input column 'body' does not exist"), noColumn.getMessage());

        Dataset<Row> ints = SPARK.createDataFrame(List.of(RowFactory.create(1)),
                new StructType().add("text", DataTypes.IntegerType));
        IllegalArgumentException wrongType = assertThrows(IllegalArgumentException.class, () -> e.transform(ints));
        assertTrue(wrongType.getMessage().contains("must be of type string, but is int"), wrongType.getMessage());

        IllegalArgumentException exists = assertThrows(IllegalArgumentException.class,
                () -> e.copy(new org.apache.spark.ml.param.ParamMap()).setOutputCol("id").transform(df));
        assertTrue(exists.getMessage().contains("'id' already exists"), exists.getMessage());

        IllegalArgumentException noModel = assertThrows(IllegalArgumentException.class,
                () -> new XlmrSentenceEmbeddings().transform(df));
        assertTrue(noModel.getMessage().contains("no model set"), noModel.getMessage());

        IllegalArgumentException pooling = assertThrows(IllegalArgumentException.class, () -> e.setPooling("avg"));
        assertTrue(pooling.getMessage().contains("unknown pooling 'avg'"), pooling.getMessage());

        IllegalArgumentException both = assertThrows(IllegalArgumentException.class,
                () -> new XlmrSentenceEmbeddings().setModel(model("xlmr-base")).setPrefix("q: ").setPromptName("query")
                        .transform(df));
        assertTrue(both.getMessage().contains("not both"), both.getMessage());

        // a missing model fails on the executors, with the model named in the message
        String missing = model("no-such-model");
        SparkException failed = assertThrows(SparkException.class,
                () -> new XlmrSentenceEmbeddings().setModel(missing).transform(df).collect());
        assertTrue(failed.getMessage().contains("cannot load the model '" + missing + "'"), failed.getMessage());
        assertTrue(failed.getMessage().contains("no such model folder"), failed.getMessage());
    }
}
