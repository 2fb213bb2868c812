package dev.xlmr.spark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * A ready-made Spark application: sentence embeddings of a text column, for {@code spark-submit}.
 *
 * <pre>
 * spark-submit --class dev.xlmr.spark.EmbedJob --master local[2] xlmr-spark-VERSION-all.jar \
 *     --model /models/multilingual-e5-base --input texts.txt --output embeddings.parquet
 * </pre>
 *
 * Options: {@code --model} (folder or hub id, required), {@code --revision}, {@code --input} (a text
 * file with one text per line, or a .parquet / .json / .csv source with a {@code --input-col},
 * default "text"), {@code --output} (written as Parquet, or JSON lines when it ends in .json),
 * {@code --pooling}, {@code --normalize}, {@code --prompt-name}, {@code --prefix},
 * {@code --batch-size}, {@code --max-length}, {@code --partitions} (repartition the input first).
 * The output has the input's columns and {@code embedding}.
 */
public final class EmbedJob {
    private EmbedJob() {}

    public static void main(String[] args) {
        Map<String, String> o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("xlmr-spark: " + e.getMessage());
            System.err.println("usage: EmbedJob --model M --input PATH --output PATH [--revision R] [--input-col C] "
                    + "[--pooling P] [--normalize] [--prompt-name N | --prefix T] [--batch-size N] [--max-length N] "
                    + "[--partitions N]");
            System.exit(2);
            return;
        }
        SparkSession spark = SparkSession.builder().appName("xlmr-embed").getOrCreate();
        try {
            run(spark, o);
        } finally {
            spark.stop();
        }
    }

    /** Reads the input, embeds it and writes the output, as {@link #main} describes. */
    static void run(SparkSession spark, Map<String, String> o) {
        String column = o.getOrDefault("input-col", "text");
        Dataset<Row> df = read(spark, o.get("input"), column);
        if (o.containsKey("partitions")) {
            df = df.repartition(Integer.parseInt(o.get("partitions")));
        }
        XlmrSentenceEmbeddings embed = new XlmrSentenceEmbeddings().setModel(o.get("model")).setInputCol(column);
        if (o.containsKey("revision")) {
            embed.setRevision(o.get("revision"));
        }
        if (o.containsKey("pooling")) {
            embed.setPooling(o.get("pooling"));
        }
        if (o.containsKey("normalize")) {
            embed.setNormalize(true);
        }
        if (o.containsKey("prompt-name")) {
            embed.setPromptName(o.get("prompt-name"));
        }
        if (o.containsKey("prefix")) {
            embed.setPrefix(o.get("prefix"));
        }
        if (o.containsKey("batch-size")) {
            embed.setBatchSize(Integer.parseInt(o.get("batch-size")));
        }
        if (o.containsKey("max-length")) {
            embed.setMaxLength(Integer.parseInt(o.get("max-length")));
        }
        Dataset<Row> out = embed.transform(df);
        String output = o.get("output");
        if (output.toLowerCase(Locale.ROOT).endsWith(".json")) {
            out.write().mode("overwrite").json(output);
        } else {
            out.write().mode("overwrite").parquet(output);
        }
    }

    private static Dataset<Row> read(SparkSession spark, String path, String column) {
        String p = path.toLowerCase(Locale.ROOT);
        if (p.endsWith(".parquet")) {
            return spark.read().parquet(path);
        }
        if (p.endsWith(".json") || p.endsWith(".jsonl")) {
            return spark.read().json(path);
        }
        if (p.endsWith(".csv")) {
            return spark.read().option("header", "true").csv(path);
        }
        return spark.read().text(path).withColumnRenamed("value", column);
    }

    private static final List<String> FLAGS = List.of("normalize");
    private static final List<String> VALUES = List.of("model", "revision", "input", "output", "input-col", "pooling",
            "prompt-name", "prefix", "batch-size", "max-length", "partitions");

    static Map<String, String> parse(String[] args) {
        Map<String, String> o = new LinkedHashMap<>();
        List<String> rest = new ArrayList<>(Arrays.asList(args));
        while (!rest.isEmpty()) {
            String a = rest.remove(0);
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a + "'");
            }
            String name = a.substring(2);
            if (FLAGS.contains(name)) {
                o.put(name, "true");
            } else if (VALUES.contains(name)) {
                if (rest.isEmpty()) {
                    throw new IllegalArgumentException(a + " needs a value");
                }
                o.put(name, rest.remove(0));
            } else {
                throw new IllegalArgumentException("unknown option " + a);
            }
        }
        for (String required : List.of("model", "input", "output")) {
            if (!o.containsKey(required)) {
                throw new IllegalArgumentException("--" + required + " is required");
            }
        }
        return o;
    }
}
