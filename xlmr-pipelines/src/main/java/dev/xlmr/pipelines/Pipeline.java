package dev.xlmr.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xlmr.engine.Encoders;
import dev.xlmr.hub.ModelLocator;
import dev.xlmr.model.Batch;
import dev.xlmr.model.Encoder;
import dev.xlmr.model.Head;
import dev.xlmr.model.LengthBatching;
import dev.xlmr.model.ModelConfig;
import dev.xlmr.model.PackedOutput;
import dev.xlmr.model.NdArray;
import dev.xlmr.model.XlmRobertaModel;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;

/**
 * What every pipeline shares: an {@link Encoder} and its tokenizer, the longest input the model
 * takes, and batched execution (inputs sorted by length, run in batches, results in the caller's
 * order).
 *
 * <p>Pipelines are thread-safe once configured: {@link #batchSize(int)}, {@link #maxLength(int)} and
 * {@link #warnings(Consumer)} are meant for set-up, before the pipeline is shared. A pipeline made
 * with {@code load(...)} owns its model and closes it in {@link #close()}; one made from an
 * {@link Encoder} leaves it open.
 */
public abstract class Pipeline implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    /** Where a pipeline's model comes from. */
    record Source(Path dir, Encoder encoder, XlmRobertaTokenizer tokenizer, int maxLength, boolean owns,
                  SentenceTransformers sentenceTransformers) {}

    final Encoder encoder;
    final XlmRobertaTokenizer tokenizer;
    final Path dir;
    private final boolean owns;
    private volatile int maxLength;
    private volatile int batchSize = 32;
    private volatile int maxBatchTokens;
    private volatile Consumer<String> warnings = System.err::println;

    Pipeline(Source s) {
        this.encoder = Objects.requireNonNull(s.encoder(), "encoder");
        this.tokenizer = Objects.requireNonNull(s.tokenizer(), "tokenizer");
        this.dir = s.dir();
        this.owns = s.owns();
        this.maxLength = s.maxLength();
    }

    /** A source for an encoder and tokenizer given by the caller (left open by {@link #close()}). */
    static Source source(Encoder encoder, XlmRobertaTokenizer tokenizer) {
        Objects.requireNonNull(encoder, "encoder");
        return new Source(null, encoder, tokenizer, encoder.config().maxSequenceLength(), false, null);
    }

    /** Resolves a folder or hub id and loads it as a {@link ModelSession} does; the source owns the encoder. */
    static Source loadSource(String modelOrPath, String revision) {
        return ModelSession.open(modelOrPath, revision).ownedSource();
    }

    /** Loads a source and makes the pipeline, closing the model when the pipeline refuses it. */
    static <P extends Pipeline> P build(String modelOrPath, String revision, java.util.function.Function<Source, P> make) {
        Source s = loadSource(modelOrPath, revision);
        try {
            return make.apply(s);
        } catch (RuntimeException e) {
            s.encoder().close();
            throw e;
        }
    }

    /** {@code model_max_length} of tokenizer_config.json, or 0 when absent or "unlimited". */
    static int tokenizerMaxLength(Path dir) {
        JsonNode c = readJson(dir.resolve("tokenizer_config.json"));
        if (c == null) {
            return 0;
        }
        JsonNode v = c.get("model_max_length");
        if (v == null || !v.isNumber() || v.asDouble() <= 0 || v.asDouble() >= 1e9) {
            return 0;
        }
        return v.asInt();
    }

    /** A JSON file, or null when it does not exist. */
    static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalStateException(file + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    void requireHead(Head... heads) {
        Head h = encoder.config().head();
        for (Head ok : heads) {
            if (ok == h) {
                return;
            }
        }
        throw new IllegalArgumentException("this task needs a model with a " + Arrays.toString(heads).toLowerCase()
                + " head, but " + encoder.config().architecture() + " has " + h.name().toLowerCase());
    }

    /** The model's configuration. */
    public ModelConfig config() {
        return encoder.config();
    }

    /** The tokenizer in use. */
    public XlmRobertaTokenizer tokenizer() {
        return tokenizer;
    }

    /** The model folder, or null when made from an encoder. */
    public Path modelDir() {
        return dir;
    }

    /** The longest input in tokens (special tokens included). */
    public int maxLength() {
        return maxLength;
    }

    /** Sets the longest input in tokens; at most what the model's position embeddings allow. */
    public Pipeline maxLength(int tokens) {
        int limit = encoder.config().maxSequenceLength();
        if (tokens < 2 || tokens > limit) {
            throw new IllegalArgumentException("max length must be between 2 and " + limit + ", got " + tokens);
        }
        this.maxLength = tokens;
        return this;
    }

    /** Sequences per forward pass (default 32). */
    public int batchSize() {
        return batchSize;
    }

    /** Sets the sequences per forward pass. */
    public Pipeline batchSize(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + n);
        }
        this.batchSize = n;
        return this;
    }

    /** Padded tokens (rows x longest) per forward pass at most; 0 (the default) for no limit but the batch size. */
    public int maxBatchTokens() {
        return maxBatchTokens;
    }

    /**
     * Bounds a forward pass by its padded size as well (rows x longest input), so that a big batch of
     * mostly short inputs does not pad them all to one long one; 0 for no bound but {@link #batchSize()}.
     */
    public Pipeline maxBatchTokens(int tokens) {
        if (tokens < 0) {
            throw new IllegalArgumentException("max batch tokens must not be negative, got " + tokens);
        }
        this.maxBatchTokens = tokens;
        return this;
    }

    /** Where one-line warnings go (default: standard error); e.g. {@code s -> {}} to drop them. */
    public Pipeline warnings(Consumer<String> sink) {
        this.warnings = Objects.requireNonNull(sink);
        return this;
    }

    void warn(String message) {
        warnings.accept("xlmr: warning: " + message);
    }

    @Override
    public void close() {
        if (owns) {
            encoder.close();
        }
    }

    // ---- encoding -------------------------------------------------------------------------------

    /**
     * Encodes texts (and pairs, or null) truncated to {@code max} tokens with the given strategy, with
     * one warning line when any input was longer.
     */
    List<Encoding> encodeTruncating(List<String> texts, List<String> pairs, EncodeOptions.Truncation strategy, int max) {
        return encodeTruncating(texts, pairs, strategy, max, n -> { });
    }

    /** As {@link #encodeTruncating(List, List, EncodeOptions.Truncation, int)}, telling each input's length before the cut. */
    List<Encoding> encodeTruncating(List<String> texts, List<String> pairs, EncodeOptions.Truncation strategy, int max,
                                    java.util.function.IntConsumer fullLengths) {
        EncodeOptions plain = EncodeOptions.defaults();
        EncodeOptions cut = plain.maxLength(max).truncation(strategy);
        List<Encoding> out = new ArrayList<>(texts.size());
        int truncated = 0;
        for (int i = 0; i < texts.size(); i++) {
            String t = requireText(texts.get(i), "text");
            String p = pairs == null ? null : requireText(pairs.get(i), "text pair");
            Encoding e = tokenizer.encode(t, p, plain);
            fullLengths.accept(e.length());
            if (e.length() > max) {
                truncated++;
                e = tokenizer.truncate(e, cut); // the tokens counted, cut: tokenized once
            }
            out.add(e);
        }
        if (truncated > 0) {
            warn(truncated + (truncated == 1 ? " input was" : " inputs were") + " longer than " + max
                    + " tokens and truncated");
        }
        return out;
    }

    static String requireText(String s, String what) {
        if (s == null) {
            throw new IllegalArgumentException(what + " must not be null");
        }
        return s;
    }

    // ---- batched forward passes -----------------------------------------------------------------

    /** One sequence's view of a packed batch output. */
    static class Row {
        final PackedOutput out;
        final int index;
        final int length;

        Row(PackedOutput out, int index) {
            this.out = out;
            this.index = index;
            this.length = out.length(index);
        }

        /** This sequence's row of a per-sequence output ({@code pooler_output}, a classifier's {@code logits}). */
        float[] get(String name) {
            return out.sequence(name, index);
        }

        /** {@code [length][dim]} of a per-token output. */
        float[][] tokens(String name) {
            float[] flat = out.tokens(name, index);
            int d = flat.length / length;
            float[][] r = new float[length][];
            for (int t = 0; t < length; t++) {
                r[t] = Arrays.copyOfRange(flat, t * d, (t + 1) * d);
            }
            return r;
        }

        /** The vector at one token position of a per-token output. */
        float[] at(String name, int position) {
            return out.at(name, index, position);
        }

        /** {@code [length]} of a per-token output of one value per token ({@code start_logits}, {@code end_logits}). */
        float[] positions(String name) {
            return out.tokens(name, index);
        }
    }

    interface RowHandler {
        void accept(int input, Row row);
    }

    /** Batch rows for a padded length (e.g. smaller for vocabulary-sized outputs). */
    int rowsPerBatch(int paddedLength) {
        return batchSize;
    }

    /**
     * Runs encodings through the encoder with the project's one length-aware batching ({@link LengthBatching}:
     * longest first, at most {@link #batchSize()} sequences and {@link #maxBatchTokens()} tokens per packed forward
     * pass) and hands each sequence's output to the handler with its index in {@code encodings}.
     */
    void forEachRow(List<Encoding> encodings, RowHandler handler) {
        int n = encodings.size();
        List<int[]> ids = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Encoding e = encodings.get(i);
            if (e.length() > maxLength()) {
                throw new IllegalArgumentException("input " + (n == 1 ? "" : i + " ") + "has " + e.length()
                        + " tokens; the model takes at most " + maxLength());
            }
            ids.add(e.ids());
        }
        new LengthBatching(batchSize, maxBatchTokens, this::rowsPerBatch)
                .run(encoder, ids, (input, out, s) -> handler.accept(input, new Row(out, s)));
    }

    // ---- math -----------------------------------------------------------------------------------

    static double[] softmax(float[] logits) {
        return Scores.softmax(logits);
    }

    static double sigmoid(double x) {
        return Scores.sigmoid(x);
    }

    static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** A label name as transformers gives it: id2label, else LABEL_i. */
    String label(int i) {
        String l = encoder.config().id2label().get(i);
        return l != null ? l : "LABEL_" + i;
    }

    static void checkTopK(int topK) {
        if (topK < 1) {
            throw new IllegalArgumentException("top_k must be at least 1, got " + topK);
        }
    }
}
