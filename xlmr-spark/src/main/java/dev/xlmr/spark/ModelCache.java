package dev.xlmr.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xlmr.engine.Encoders;
import dev.xlmr.engine.FastEncoder;
import dev.xlmr.engine.KernelProvider;
import dev.xlmr.hub.ModelLocator;
import dev.xlmr.model.Encoder;
import dev.xlmr.pipelines.Pipeline;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models of this JVM (an executor, or the driver in local mode): each model folder is loaded
 * once, memory-mapped from its path, and shared by every task and transformer that names it. The
 * weights never travel through Spark; only the model's name does.
 *
 * <p>Models load as the pipelines and the command line load them ({@link Encoders#open}: the fast
 * engine unless {@code xlmr.encoder=reference}). The fast encoder runs one forward pass at a time
 * (its methods are synchronized) with all its kernel threads, so the executor's concurrent tasks
 * share it: while one task's batch runs, the others tokenize and pool. Its kernels therefore get the
 * executor's cores ({@link #executorCores()}), not cores divided by tasks; {@code xlmr.threads}
 * overrides that.
 */
final class ModelCache {
    private static final Logger LOG = LoggerFactory.getLogger(ModelCache.class);

    /** A loaded model: the encoder and tokenizer shared by all pipelines made on it. */
    record Model(Path dir, Encoder encoder, XlmRobertaTokenizer tokenizer, int maxLength) {}

    private static final Map<String, Path> RESOLVED = new ConcurrentHashMap<>();
    private static final Map<Path, Model> MODELS = new ConcurrentHashMap<>();
    private static final Map<List<Object>, Pipeline> PIPELINES = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private ModelCache() {}

    /** The model of a folder or hub id at a revision, loaded on first use in this JVM. */
    static Model model(String modelOrPath, String revision) {
        try {
            // a hub id is fetched into this machine's Hugging Face cache once (or found there)
            Path dir = RESOLVED.computeIfAbsent(modelOrPath + "@" + revision,
                    k -> ModelLocator.resolve(modelOrPath, revision).toAbsolutePath().normalize());
            return MODELS.computeIfAbsent(dir, ModelCache::load);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("xlmr-spark: cannot load the model '" + modelOrPath + "'"
                    + (revision == null || "main".equals(revision) ? "" : " at revision " + revision)
                    + ": " + e.getMessage(), e);
        }
    }

    /**
     * A pipeline of one kind and set-up on a model, made once per JVM: pipelines are thread-safe once
     * configured, so every task shares it.
     */
    @SuppressWarnings("unchecked")
    static <P extends Pipeline> P pipeline(Class<P> kind, Task task, Function<Model, P> make) {
        return pipeline(kind, task.model, task.revision, task.batchSize, task.maxLength, make);
    }

    /** {@link #pipeline(Class, Task, Function)} for a model reference and set-up given as values. */
    @SuppressWarnings("unchecked")
    static <P extends Pipeline> P pipeline(Class<P> kind, String model, String revision, int batchSize, int maxLength,
                                           Function<Model, P> make) {
        List<Object> key = List.of(kind, model, String.valueOf(revision), batchSize, maxLength);
        return (P) PIPELINES.computeIfAbsent(key, k -> {
            Model m = model(model, revision);
            try {
                P p = make.apply(m);
                p.maxLength(maxLength > 0 ? maxLength : m.maxLength());
                p.batchSize(batchSize);
                p.warnings(new Warnings(model));
                return p;
            } catch (IllegalArgumentException e) {
                // e.g. a base model given to a classifier: say which model
                throw new IllegalArgumentException("xlmr-spark: the model '" + model + "' (" + m.dir() + "): "
                        + e.getMessage(), e);
            }
        });
    }

    /**
     * Pipeline warnings (truncated inputs) come per batch: the first goes to the log as a warning, the
     * rest at debug level, so that a large job does not flood the executor logs.
     */
    private static final class Warnings implements java.util.function.Consumer<String> {
        private final String model;
        private final java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);

        Warnings(String model) {
            this.model = model;
        }

        @Override
        public void accept(String message) {
            if (first.getAndSet(false)) {
                LOG.warn("{} (model {}; further warnings of this kind at debug level)", message, model);
            } else {
                LOG.debug("{} (model {})", message, model);
            }
        }
    }

    /** How many models this JVM has loaded (for tests: once per model, whatever the tasks). */
    static int loads() {
        return LOADS.get();
    }

    private static Model load(Path dir) {
        long t0 = System.nanoTime();
        // as the pipelines' load(): the tokenizer (a 17 MB tokenizer.json for XLM-R) parses while the model maps
        CompletableFuture<XlmRobertaTokenizer> tokenizer = CompletableFuture.supplyAsync(() -> XlmRobertaTokenizer.load(dir),
                r -> Thread.ofPlatform().daemon().name("xlmr-spark-tokenizer-load").start(r));
        Encoder encoder;
        try {
            encoder = openEncoder(dir);
        } catch (RuntimeException | Error e) {
            tokenizer.exceptionally(t -> null).join();
            throw e;
        }
        XlmRobertaTokenizer tok;
        try {
            tok = tokenizer.join();
        } catch (CompletionException e) {
            encoder.close();
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
        // the smaller of the position embeddings and model_max_length
        int max = encoder.config().maxSequenceLength();
        int tokMax = tokenizerMaxLength(dir);
        if (tokMax > 0) {
            max = Math.min(max, tokMax);
        }
        int n = LOADS.incrementAndGet();
        LOG.info("xlmr-spark: loaded {} ({}) on {} in {} ms (model load {} in this JVM)", dir,
                encoder.config().architecture(), engine(encoder), (System.nanoTime() - t0) / 1_000_000, n);
        return new Model(dir, encoder, tok, max);
    }

    /** What runs a model, for logs and benchmarks: the fast engine's kernels, or the reference. */
    static String engine(Encoder encoder) {
        return encoder instanceof FastEncoder f ? "the fast engine (" + f.kernels().description() + ")"
                : "the reference encoder (" + encoder.getClass().getSimpleName() + ")";
    }

    /**
     * {@link Encoders#open} with the kernels' threads set to this executor's cores when the user has not set
     * {@code xlmr.threads}: on a cluster node the JVM sees every core of the machine, of which the executor was
     * given only some.
     */
    private static Encoder openEncoder(Path dir) {
        String property = KernelProvider.THREADS_PROPERTY;
        String env = property.toUpperCase(Locale.ROOT).replace('.', '_');
        int cores = executorCores();
        if (System.getProperty(property) != null || System.getenv(env) != null
                || cores >= Runtime.getRuntime().availableProcessors()) {
            return Encoders.open(dir);
        }
        // the thread count is read once, when the options are made at the start of open(); set it just for that
        synchronized (ModelCache.class) {
            System.setProperty(property, Integer.toString(cores));
            try {
                return Encoders.open(dir);
            } finally {
                System.clearProperty(property);
            }
        }
    }

    private static final Pattern LOCAL = Pattern.compile("local\\[(\\d+|\\*)(?:,\\s*\\d+)?]");

    /**
     * The cores Spark gave this JVM's tasks: N of a {@code local[N]} master, else {@code spark.executor.cores};
     * all available processors when neither says (or outside Spark).
     */
    static int executorCores() {
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        int all = Runtime.getRuntime().availableProcessors();
        return env == null ? all
                : cores(env.conf().get("spark.master", ""), env.conf().get("spark.executor.cores", null), all);
    }

    /** {@link #executorCores()} from the master URL, {@code spark.executor.cores} (or null) and the processors. */
    static int cores(String master, String executorCores, int all) {
        Matcher local = LOCAL.matcher(master);   // local, local[N], local[*], local[N, maxFailures]
        String cores = master.equals("local") ? "1" : local.matches() ? local.group(1) : executorCores;
        if (cores == null || cores.equals("*")) {
            return all;
        }
        try {
            return Math.max(1, Math.min(all, Integer.parseInt(cores.trim())));
        } catch (NumberFormatException e) {
            return all;
        }
    }

    /** {@code model_max_length} of tokenizer_config.json, or 0 when absent or "unlimited". */
    private static int tokenizerMaxLength(Path dir) {
        Path f = dir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(f)) {
            return 0;
        }
        try {
            JsonNode v = new ObjectMapper().readTree(f.toFile()).get("model_max_length");
            if (v == null || !v.isNumber() || v.asDouble() <= 0 || v.asDouble() >= 1e9) {
                return 0;
            }
            return v.asInt();
        } catch (IOException e) {
            throw new IllegalStateException(f + ": not valid JSON: " + e.getMessage(), e);
        }
    }
}
