package dev.xlmr.spark;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * Sentence-embedding throughput of {@link EmbedJob} in Spark local mode, run by {@code bench/spark.sh},
 * which times {@code ./xlmr embed} on the same file in the same run.
 *
 * <pre>
 * SparkBenchmark MODEL_DIR TEXT_FILE [master=local[2]] [rounds=1] [partitions=2 * cores]
 * </pre>
 *
 * Each round is what {@code spark-submit --class dev.xlmr.spark.EmbedJob} does after the session has
 * started: read the text file (one text per line), repartition it, embed every line and write Parquet.
 * Round 0 includes loading the model (the executor's first task loads it); later rounds find it in
 * the JVM's cache. Prints wall and process CPU seconds per round, the model loads in this JVM (one
 * is expected) and the engine that ran them.
 */
public final class SparkBenchmark {
    private SparkBenchmark() {}

    private static double cpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime() / 1e9;
    }

    public static void main(String[] args) throws Exception {
        String model = Path.of(args[0]).toAbsolutePath().toString();
        String input = Path.of(args[1]).toAbsolutePath().toString();
        String master = args.length > 2 ? args[2] : "local[2]";
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        String digits = master.replaceAll("\\D", "");
        int cores = digits.isEmpty() ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(digits);
        int partitions = args.length > 4 ? Integer.parseInt(args[4]) : 2 * cores;
        long texts = Files.lines(Path.of(input)).count();
        Path output = Files.createTempDirectory("xlmr-spark-bench");

        long t0 = System.nanoTime();
        SparkSession spark = SparkSession.builder().master(master).appName("xlmr-spark-bench")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        spark.sparkContext().setLogLevel("ERROR");
        System.out.printf("spark: %s session started in %.1f s (%d available processors)%n", master,
                (System.nanoTime() - t0) / 1e9, Runtime.getRuntime().availableProcessors());
        Map<String, String> job = new LinkedHashMap<>();
        job.put("model", model);
        job.put("input", input);
        job.put("output", output.resolve("embeddings.parquet").toString());
        job.put("partitions", Integer.toString(partitions));
        for (int round = 0; round <= rounds; round++) {
            double c0 = cpuSeconds();
            t0 = System.nanoTime();
            EmbedJob.run(spark, job);
            double wall = (System.nanoTime() - t0) / 1e9;
            double cpu = cpuSeconds() - c0;
            long written = spark.read().parquet(job.get("output")).filter("size(embedding) > 0").count();
            System.out.printf("spark round %d%s: %d texts (%d embedded) in %.2f s wall, %.2f s cpu: %.1f texts/s%n", round,
                    round == 0 ? " (cold: includes the model load)" : " (warm)", texts, written, wall, cpu, texts / wall);
        }
        System.out.printf("spark: model loads in this JVM: %d; engine: %s%n", ModelCache.loads(),
                ModelCache.engine(ModelCache.model(model, "main").encoder()));
        spark.stop();
    }
}
