package dev.xlmr.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xlmr.hub.ModelLocator;
import dev.xlmr.model.Encoder;
import dev.xlmr.model.XlmRobertaModel;
import dev.xlmr.pipelines.Pipeline;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models of this JVM (an executor, or the driver in local mode): each model folder is loaded
 * once, memory-mapped from its path, and shared by every task and transformer that names it. The
 * weights never travel through Spark; only the model's name does.
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
        List<Object> key = List.of(kind, task.model, String.valueOf(task.revision), task.batchSize, task.maxLength);
        return (P) PIPELINES.computeIfAbsent(key, k -> {
            Model m = model(task.model, task.revision);
            try {
                P p = make.apply(m);
                p.maxLength(task.maxLength > 0 ? task.maxLength : m.maxLength());
                p.batchSize(task.batchSize);
                p.warnings(new Warnings(task.model));
                return p;
            } catch (IllegalArgumentException e) {
                // e.g. a base model given to a classifier: say which model
                throw new IllegalArgumentException("xlmr-spark: the model '" + task.model + "' (" + m.dir() + "): "
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
        XlmRobertaTokenizer tok = XlmRobertaTokenizer.load(dir);
        XlmRobertaModel model = XlmRobertaModel.load(dir);
        // as the pipelines' load(): the smaller of the position embeddings and model_max_length
        int max = model.config().maxSequenceLength();
        int tokMax = tokenizerMaxLength(dir);
        if (tokMax > 0) {
            max = Math.min(max, tokMax);
        }
        LOADS.incrementAndGet();
        LOG.info("xlmr-spark: loaded {} ({}) in {} ms", dir, model.config().architecture(),
                (System.nanoTime() - t0) / 1_000_000);
        return new Model(dir, model, tok, max);
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
