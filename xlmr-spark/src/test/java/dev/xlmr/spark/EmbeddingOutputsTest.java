package dev.xlmr.spark;

import static dev.xlmr.spark.TestSpark.frame;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.Test;
import scala.collection.Seq;

/**
 * {@link XlmrEmbeddingOutputs}: BGE-M3 dense, sparse and ColBERT columns against FlagEmbedding's outputs
 * (xlmr-pipelines/src/test/resources/embeddings/bge-m3-tiny), as arrays/maps and as ML vectors, and long texts
 * through windows against the long-document references (bench/reference/xlmr_reference.py).
 */
class EmbeddingOutputsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path RESOURCES = Path.of("..", "xlmr-pipelines", "src", "test", "resources").toAbsolutePath();
    private static final double TOL = 1e-5;

    private static String m3() {
        return RESOURCES.resolve("embeddings/bge-m3-tiny").toString();
    }

    private static void close(JsonNode want, float[] got, String where) {
        assertEquals(want.size(), got.length, where);
        for (int i = 0; i < got.length; i++) {
            assertEquals(want.get(i).asDouble(), got[i], TOL, where + "[" + i + "]");
        }
    }

    private static TreeSet<Integer> ids(JsonNode lexical) {
        TreeSet<Integer> s = new TreeSet<>();
        lexical.fieldNames().forEachRemaining(k -> s.add(Integer.parseInt(k)));
        return s;
    }

    @Test
    void bgeM3ColumnsMatchFlagEmbedding() throws Exception {
        JsonNode cases = JSON.readTree(RESOURCES.resolve("embeddings/bge-m3-tiny/expected.json").toFile()).get("cases");
        int[] pick = {7, 8, 3};
        List<String> texts = new ArrayList<>();
        for (int k : pick) {
            texts.add(cases.get(k).get("text").asText());
        }
        texts.add(null);
        Dataset<Row> df = frame(texts, 2, 2);
        XlmrEmbeddingOutputs t = new XlmrEmbeddingOutputs().setModel(m3()).setOutputs("all");
        Dataset<Row> out = t.transform(df);
        assertEquals(List.of("id", "text", "dense", "sparse", "colbert"), Arrays.asList(out.columns()));
        assertEquals(DataTypes.createMapType(DataTypes.IntegerType, DataTypes.FloatType, false),
                out.schema().apply("sparse").dataType());
        List<Row> rows = out.orderBy("id").collectAsList();
        for (int i = 0; i < pick.length; i++) {
            JsonNode c = cases.get(pick[i]);
            Row r = rows.get(i);
            close(c.get("dense_vecs"), TestSpark.floats(r.get(2)), "dense " + i);
            scala.collection.Map<Integer, Float> sparse = r.getMap(3);
            assertEquals(ids(c.get("lexical_weights")), new TreeSet<>(scala.jdk.javaapi.CollectionConverters.asJava(sparse).keySet()));
            sparse.foreach(e -> {
                assertEquals(c.get("lexical_weights").get(String.valueOf(e._1())).asDouble(), e._2(), TOL);
                return null;
            });
            Seq<?> colbert = (Seq<?>) r.get(4);
            assertEquals(c.get("colbert_vecs").size(), colbert.size());
            for (int v = 0; v < colbert.size(); v++) {
                close(c.get("colbert_vecs").get(v), TestSpark.floats(colbert.apply(v)), "colbert " + i + "/" + v);
            }
        }
        Row nullRow = rows.get(3);
        assertNull(nullRow.get(2));
        assertNull(nullRow.get(4));

        // as Spark ML vectors
        Dataset<Row> ml = new XlmrEmbeddingOutputs().setModel(m3()).setOutputs("dense,sparse").setMlVectors(true)
                .setDenseCol("d").setSparseCol("s").transform(frame(texts.subList(0, 3), 3));
        assertEquals(SQLDataTypes.VectorType(), ml.schema().apply("d").dataType());
        List<Row> mlRows = ml.orderBy("id").collectAsList();
        for (int i = 0; i < pick.length; i++) {
            JsonNode c = cases.get(pick[i]);
            Vector d = (Vector) mlRows.get(i).get(2);
            for (int j = 0; j < d.size(); j++) {
                assertEquals(c.get("dense_vecs").get(j).asDouble(), d.apply(j), TOL);
            }
            SparseVector s = (SparseVector) mlRows.get(i).get(3);
            assertEquals(8002, s.size());
            assertArrayEquals(ids(c.get("lexical_weights")).stream().mapToInt(Integer::intValue).toArray(), s.indices());
            for (int j = 0; j < s.indices().length; j++) {
                assertEquals(c.get("lexical_weights").get(String.valueOf(s.indices()[j])).asDouble(), s.values()[j], TOL);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new XlmrEmbeddingOutputs().setOutputs("dense,lexical"));
    }

    @Test
    void longTextsThroughWindows() throws Exception {
        JsonNode exp = JSON.readTree(RESOURCES.resolve("long-documents/expected.json").toFile());
        JsonNode setting = null;
        for (JsonNode s : exp.get("settings")) {
            if (s.get("model").asText().equals("bge-m3-tiny") && s.get("max_length").asInt() == 24) {
                setting = s;
            }
        }
        List<String> texts = new ArrayList<>();
        exp.get("texts").forEach(x -> texts.add(x.asText()));
        List<Row> rows = new XlmrEmbeddingOutputs().setModel(m3()).setOutputs("dense,colbert").setMaxLength(24)
                .setLongInputs("windows").setOverlap(setting.get("overlap").asInt())
                .transform(frame(texts, 3, 2)).orderBy("id").collectAsList();
        for (int k = 0; k < texts.size(); k++) {
            JsonNode c = setting.get("cases").get(k);
            close(c.get("dense"), TestSpark.floats(rows.get(k).get(2)), "dense " + k);
            Seq<?> colbert = (Seq<?>) rows.get(k).get(3);
            assertEquals(c.get("colbert_vecs").size(), colbert.size(), "colbert rows " + k);
            close(c.get("colbert_vecs").get(colbert.size() - 1), TestSpark.floats(colbert.apply(colbert.size() - 1)),
                    "last colbert " + k);
        }
    }

    @Test
    void lateChunkingOfChunkArrays() throws Exception {
        JsonNode exp = JSON.readTree(RESOURCES.resolve("long-documents/expected.json").toFile());
        List<JsonNode> docs = new ArrayList<>();
        for (JsonNode c : exp.get("late_chunking")) {
            if (c.get("model").asText().equals("bge-m3-tiny") && c.get("max_length").asInt() == 24) {
                docs.add(c);
            }
        }
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < docs.size(); i++) {
            List<String> chunks = new ArrayList<>();
            docs.get(i).get("chunks").forEach(x -> chunks.add(x.asText()));
            rows.add(org.apache.spark.sql.RowFactory.create(i, chunks.toArray(new String[0])));
        }
        rows.add(org.apache.spark.sql.RowFactory.create(docs.size(), null));
        org.apache.spark.sql.types.StructType schema = new org.apache.spark.sql.types.StructType()
                .add("id", DataTypes.IntegerType, false)
                .add("chunks", DataTypes.createArrayType(DataTypes.StringType, true), true);
        Dataset<Row> df = TestSpark.SPARK.createDataFrame(rows, schema).repartition(2);
        XlmrLateChunking t = new XlmrLateChunking().setModel(m3()).setInputCol("chunks").setMaxLength(24)
                .setOverlap(docs.get(0).get("overlap").asInt());
        List<Row> out = t.transform(df).orderBy("id").collectAsList();
        for (int i = 0; i < docs.size(); i++) {
            Seq<?> vectors = (Seq<?>) out.get(i).get(2);
            JsonNode want = docs.get(i).get("embeddings");
            assertEquals(want.size(), vectors.size(), "doc " + i);
            for (int v = 0; v < vectors.size(); v++) {
                close(want.get(v), TestSpark.floats(vectors.apply(v)), "doc " + i + " chunk " + v);
            }
        }
        assertNull(out.get(docs.size()).get(2));
        // a string column: each text is a document of one chunk (the last reference document has a one-token chunk)
        List<Row> one = new XlmrLateChunking().setModel(m3()).setInputCol("text")
                .transform(frame(List.of("Hello world"), 1)).collectAsList();
        Seq<?> v = (Seq<?>) one.get(0).get(2);
        assertEquals(1, v.size());
    }
}
