package dev.xlmr.spark;

import dev.xlmr.pipelines.EmbeddingPipeline;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Sentence-embedding throughput: Spark local[N] against the single-JVM {@link EmbeddingPipeline} on
 * the same texts (the lines of testdata/tokenizer/tok_public.txt, repeated), in one JVM and
 * interleaved so that both see the same machine. Run by {@code bench/spark.sh}.
 *
 * <pre>
 * SparkBenchmark MODEL_DIR TEXT_FILE [rows=20000] [rounds=3] [master=local[2]]
 * </pre>
 *
 * Spark reads a cached DataFrame and writes to the no-op sink, so every embedding is computed and
 * converted to Spark's row format. The pipeline runs the texts in one {@code embedAll} per thread,
 * with as many threads as the master has cores. Wall and process CPU seconds are printed per round;
 * the best round of each counts.
 */
public final class SparkBenchmark {
    private SparkBenchmark() {}

    private static double cpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime() / 1e9;
    }

    public static void main(String[] args) throws Exception {
        String model = Path.of(args[0]).toAbsolutePath().toString();
        List<String> lines = new ArrayList<>(Arrays.asList(Files.readString(Path.of(args[1])).split("\n")));
        int rows = args.length > 2 ? Integer.parseInt(args[2]) : 20_000;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        String master = args.length > 4 ? args[4] : "local[2]";
        int cores = Integer.parseInt(master.replaceAll("\\D", ""));
        List<String> texts = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
            texts.add(lines.get(i % lines.size()));
        }
        long chars = texts.stream().mapToLong(String::length).sum();
        System.out.printf("%d texts (%d chars) from %s, model %s, %s, %d available processors%n", rows, chars, args[1],
                model, master, Runtime.getRuntime().availableProcessors());

        SparkSession spark = SparkSession.builder().master(master).appName("xlmr-spark-bench")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        spark.sparkContext().setLogLevel("ERROR");
        List<Row> data = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
            data.add(RowFactory.create(i, texts.get(i)));
        }
        Dataset<Row> df = spark.createDataFrame(data, new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType)).repartition(cores * 4).cache();
        df.count();
        XlmrSentenceEmbeddings embed = new XlmrSentenceEmbeddings().setModel(model);

        EmbeddingPipeline pipeline = EmbeddingPipeline.load(model);
        pipeline.warnings(s -> { });
        ExecutorService pool = Executors.newFixedThreadPool(cores);

        double[] bestSpark = {Double.MAX_VALUE, 0};
        double[] bestPipe = {Double.MAX_VALUE, 0};
        for (int round = 0; round <= rounds; round++) {   // round 0 warms up the JIT and loads the models
            double c0 = cpuSeconds();
            long t0 = System.nanoTime();
            embed.transform(df).write().format("noop").mode("overwrite").save();
            double sparkWall = (System.nanoTime() - t0) / 1e9;
            double sparkCpu = cpuSeconds() - c0;

            c0 = cpuSeconds();
            t0 = System.nanoTime();
            List<Future<?>> parts = new ArrayList<>();
            int per = (rows + cores - 1) / cores;
            for (int k = 0; k < cores; k++) {
                List<String> slice = texts.subList(Math.min(rows, k * per), Math.min(rows, (k + 1) * per));
                parts.add(pool.submit(() -> pipeline.embedAll(slice, EmbeddingPipeline.Options.defaults())));
            }
            for (Future<?> f : parts) {
                f.get();
            }
            double pipeWall = (System.nanoTime() - t0) / 1e9;
            double pipeCpu = cpuSeconds() - c0;
            System.out.printf("round %d%s: spark %.2f s wall %.2f s cpu (%.0f texts/s) | pipeline x%d %.2f s wall %.2f s cpu "
                            + "(%.0f texts/s) | wall ratio %.2f, cpu ratio %.2f%n", round, round == 0 ? " (warm-up)" : "",
                    sparkWall, sparkCpu, rows / sparkWall, cores, pipeWall, pipeCpu, rows / pipeWall,
                    sparkWall / pipeWall, sparkCpu / pipeCpu);
            if (round > 0) {
                if (sparkWall < bestSpark[0]) {
                    bestSpark[0] = sparkWall;
                    bestSpark[1] = sparkCpu;
                }
                if (pipeWall < bestPipe[0]) {
                    bestPipe[0] = pipeWall;
                    bestPipe[1] = pipeCpu;
                }
            }
        }
        System.out.printf("best: spark %s %.0f texts/s (%.2f s, %.2f cpu s), pipeline %d thread(s) %.0f texts/s "
                        + "(%.2f s, %.2f cpu s): spark/pipeline wall %.2fx, cpu %.2fx%n", master, rows / bestSpark[0],
                bestSpark[0], bestSpark[1], cores, rows / bestPipe[0], bestPipe[0], bestPipe[1],
                bestSpark[0] / bestPipe[0], bestSpark[1] / bestPipe[1]);
        pool.shutdown();
        pipeline.close();
        spark.stop();
    }
}
