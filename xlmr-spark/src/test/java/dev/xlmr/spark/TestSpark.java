package dev.xlmr.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.collection.Seq;

/** The one SparkSession of the tests (local[2], no UI, 2 shuffle partitions) and the fixtures. */
final class TestSpark {
    static final SparkSession SPARK = SparkSession.builder()
            .master("local[2]")
            .appName("xlmr-spark-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate();

    static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.IntegerType, false)
            .add("text", DataTypes.StringType, true);

    private TestSpark() {}

    static String model(String name) {
        String p = System.getProperty("xlmr.testdata");
        Path root = p != null ? Path.of(p) : Path.of("..", "testdata");
        return root.resolve(name).toAbsolutePath().toString();
    }

    /** The lines of testdata/tokenizer/tok_public.txt (edge cases, then corpus lines in 15 languages). */
    static List<String> corpus() {
        try {
            String all = Files.readString(Path.of(model("tokenizer")).resolve("tok_public.txt"));
            List<String> lines = new ArrayList<>(Arrays.asList(all.split("\n", -1)));
            if (lines.get(lines.size() - 1).isEmpty()) {
                lines.remove(lines.size() - 1);
            }
            return lines;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Rows (id, text) in partitions of the given sizes, in order (ids count from 0). */
    static Dataset<Row> frame(List<String> texts, int... partitionSizes) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(SPARK.sparkContext());
        List<JavaRDD<Row>> parts = new ArrayList<>();
        int at = 0;
        for (int size : partitionSizes) {
            List<Row> rows = new ArrayList<>();
            for (int i = at; i < Math.min(texts.size(), at + size); i++) {
                rows.add(RowFactory.create(i, texts.get(i)));
            }
            at += size;
            parts.add(sc.parallelize(rows, 1));
        }
        if (at != texts.size()) {
            throw new IllegalArgumentException("partition sizes add up to " + at + ", not " + texts.size());
        }
        JavaRDD<Row> all = parts.get(0);
        for (int i = 1; i < parts.size(); i++) {
            all = all.union(parts.get(i));
        }
        return SPARK.createDataFrame(all, SCHEMA);
    }

    /** A float array column value. */
    static float[] floats(Object value) {
        if (value == null) {
            return null;
        }
        @SuppressWarnings("unchecked")
        Seq<Object> s = (Seq<Object>) value;
        float[] out = new float[s.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (Float) s.apply(i);
        }
        return out;
    }

    /** The struct elements of an array column value. */
    static List<Row> rows(Object value) {
        @SuppressWarnings("unchecked")
        Seq<Row> s = (Seq<Row>) value;
        List<Row> out = new ArrayList<>();
        for (int i = 0; i < s.size(); i++) {
            out.add(s.apply(i));
        }
        return out;
    }

    static void assertClose(float[] expected, float[] actual, String where) {
        assertEquals(expected.length, actual.length, where + ": length");
        // Spark batches rows differently from the direct pipeline run, and the fast engine's kernels sum in a
        // batch-dependent order (and its first, cold pass differs from later ones in the last bit): equal within
        // float rounding, not bit for bit.
        assertArrayEquals(expected, actual, TOLERANCE, where);
    }

    /** How far a float of a Spark result may be from the pipeline's (absolute). */
    static final float TOLERANCE = 1e-6f;

    /**
     * Two Spark values equal, floating-point numbers within {@link #TOLERANCE}: rows field by field, arrays
     * and maps element by element (in order), everything else with equals.
     */
    static void assertSameValue(Object expected, Object actual, String where) {
        if (expected instanceof Row e && actual instanceof Row a) {
            assertEquals(e.size(), a.size(), where + ": fields");
            for (int i = 0; i < e.size(); i++) {
                assertSameValue(e.get(i), a.get(i), where + "." + (e.schema() == null ? i : e.schema().fieldNames()[i]));
            }
        } else if (expected instanceof Seq<?> e && actual instanceof Seq<?> a) {
            assertEquals(e.size(), a.size(), where + ": elements");
            for (int i = 0; i < e.size(); i++) {
                assertSameValue(e.apply(i), a.apply(i), where + "[" + i + "]");
            }
        } else if (expected instanceof scala.collection.Map<?, ?> e && actual instanceof scala.collection.Map<?, ?> a) {
            assertSameValue(e.keys().toSeq(), a.keys().toSeq(), where + ": keys");
            assertSameValue(e.values().toSeq(), a.values().toSeq(), where + ": values");
        } else if (expected instanceof Float e && actual instanceof Float a) {
            assertEquals(e, a, TOLERANCE, where);
        } else if (expected instanceof Double e && actual instanceof Double a) {
            assertEquals(e, a, TOLERANCE, where);
        } else {
            assertEquals(expected, actual, where);
        }
    }

    static Path tempDir() {
        try {
            Path d = Files.createTempDirectory("xlmr-spark-test");
            d.toFile().deleteOnExit();
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
