package dev.xlmr.nova;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * The DISCOVER {@code xlm_roberta} module with a model: frames a transcript with {@link XlmRobertaModule} and
 * embeds each frame's window text with one of three poolings. The server's {@code /process} and
 * {@code ./xlmr nova process} both run it, over the same pipelines code ({@code EmbeddingPipeline}).
 *
 * <ul>
 *   <li>{@code default}: the pooler output for every frame (what the original gives almost all frames);
 *   <li>{@code mean}: the mean of the last hidden states over the tokens, padding excluded;
 *   <li>{@code compat}: exactly the original's output. It walks the frames in order and runs a batch at
 *       every frame index i &gt; 0 with i % B == 0, so the first batch has B+1 frames and later ones B;
 *       those batches give the pooler output. The frames left after the last such index form the last
 *       batch, which gives the mean of last_hidden_state over the batch padded to its longest text,
 *       padding included. Its frames' vectors therefore depend on B ({@code batch_size}) and on which
 *       texts share that batch.
 * </ul>
 *
 * <pre>{@code
 * SsiStream s = NovaEmbedding.process(transcript, FramingOptions.of(40, 960), NovaEmbedding.Mode.DEFAULT, 16,
 *         (texts, vectors) -> myModel.embed(texts, vectors), 768, () -> false, (done, total) -> { });
 * }</pre>
 */
public final class NovaEmbedding {
    private NovaEmbedding() {}

    /** The pooling of a NOVA job ({@code pooling} option, or {@code --pooling} of {@code ./xlmr nova process}). */
    public enum Mode {
        DEFAULT, MEAN, COMPAT;

        /** Parses {@code default}, {@code mean} or {@code compat} (null or blank is default). */
        public static Mode parse(String s) {
            if (s == null || s.isBlank()) return DEFAULT;
            try {
                return valueOf(s.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("pooling must be default, mean or compat, got \"" + s + "\"");
            }
        }
    }

    /** The vectors a mode asks the model for. */
    public enum Vectors {
        /** The pooler output (dense + tanh on {@code <s>}). */
        POOLER,
        /** The mean of the last hidden states over the tokens, padding excluded. */
        MEAN,
        /** The mean over the texts' batch padded to its longest text, padding included (one call, never split). */
        PADDED_BATCH_MEAN
    }

    /** Embeds texts (unnormalized, truncated at the model's limit); one vector per text. */
    @FunctionalInterface
    public interface Embedder {
        float[][] embed(List<String> texts, Vectors vectors);
    }

    /**
     * Frames, embeds and assembles the N x hidden FLOAT stream at 1000 / stride Hz.
     *
     * @param batchSize texts per model call (and the original's B for compat)
     * @param dim       vector width (the stream's dim when there are no frames)
     * @throws CancellationException when {@code cancelled} turns true
     */
    public static SsiStream process(FreeAnnotation ann, FramingOptions framing, Mode mode, int batchSize, Embedder embedder,
                                    int dim, BooleanSupplier cancelled, XlmRobertaModule.Progress progress) {
        return process(ann, framing, ann.durationMs(), mode, batchSize, embedder, dim, Annotations.MAX_DATA_BYTES,
                cancelled, progress);
    }

    /**
     * {@link #process(FreeAnnotation, FramingOptions, Mode, int, Embedder, int, BooleanSupplier, XlmRobertaModule.Progress)}
     * for a session of {@code durationMs} (DISCOVER's session duration, else the annotation's), refused
     * before any allocation with {@link JobTooLargeException} when frames x dim floats exceed {@code maxBytes}.
     *
     * <pre>{@code
     * SsiStream s = NovaEmbedding.process(transcript, FramingOptions.of(40, 960), 3_600_000, NovaEmbedding.Mode.DEFAULT,
     *         16, model, 768, 1L << 30, () -> false, (done, total) -> { });
     * }</pre>
     */
    public static SsiStream process(FreeAnnotation ann, FramingOptions framing, long durationMs, Mode mode, int batchSize,
                                    Embedder embedder, int dim, long maxBytes, BooleanSupplier cancelled,
                                    XlmRobertaModule.Progress progress) {
        if (batchSize < 1) throw new IllegalArgumentException("batch_size must be at least 1, got " + batchSize);
        XlmRobertaModule.checkMemory(framing, durationMs, dim, maxBytes);
        if (mode == Mode.COMPAT) return compat(ann, framing, durationMs, batchSize, embedder, dim, maxBytes, cancelled, progress);
        Vectors pooling = mode == Mode.MEAN ? Vectors.MEAN : Vectors.POOLER;
        TextEmbedder te = new TextEmbedder() {
            @Override
            public float[][] embed(List<String> texts) {
                return embedder.embed(texts, pooling);
            }

            @Override
            public int dimension() {
                return dim;
            }
        };
        return XlmRobertaModule.process(ann, framing, durationMs, te, batchSize, maxBytes, cancelled, progress);
    }

    private static SsiStream compat(FreeAnnotation ann, FramingOptions framing, long durationMs, int b, Embedder embedder,
                                    int dim, long maxBytes, BooleanSupplier cancelled, XlmRobertaModule.Progress progress) {
        XlmRobertaModule.Framing fr = XlmRobertaModule.frame(ann, framing, durationMs);
        int n = fr.frameCount();
        // The original runs a batch at i = B, 2B, ... (i <= n-1); frames after the last one are the leftover.
        int pooledEnd = n - 1 >= b ? (n - 1) / b * b + 1 : 0;
        LinkedHashSet<String> pooledTexts = new LinkedHashSet<>(), leftoverTexts = new LinkedHashSet<>();
        for (int k = 0; k < n; k++) (k < pooledEnd ? pooledTexts : leftoverTexts).add(fr.text(k));
        int total = pooledTexts.size() + leftoverTexts.size();
        Map<String, float[]> pooled = new HashMap<>(), leftover = new HashMap<>();
        List<String> todo = new ArrayList<>(pooledTexts);
        int done = 0;
        // A text's pooler output does not depend on its batch, so distinct texts suffice here.
        for (int at = 0; at < todo.size(); at += b) {
            if (cancelled.getAsBoolean()) throw new CancellationException("cancelled after " + done + " of " + total + " texts");
            List<String> batch = todo.subList(at, Math.min(todo.size(), at + b));
            put(pooled, batch, embedder.embed(batch, Vectors.POOLER));
            progress.update(done += batch.size(), total);
        }
        if (!leftoverTexts.isEmpty()) {
            // One padded batch: its longest text is the same whether duplicates are in it or not.
            if (cancelled.getAsBoolean()) throw new CancellationException("cancelled after " + done + " of " + total + " texts");
            List<String> batch = new ArrayList<>(leftoverTexts);
            put(leftover, batch, embedder.embed(batch, Vectors.PADDED_BATCH_MEAN));
            progress.update(total, total);
        }
        if (n > 0) {
            int width = (pooledEnd > 0 ? pooled.get(fr.text(0)) : leftover.get(fr.text(0))).length;
            if (width != dim) XlmRobertaModule.checkMemory(framing, durationMs, width, maxBytes);
            dim = width;
        }
        ByteBuffer data = ByteBuffer.allocate(Math.multiplyExact(n, dim * 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < n; k++) {
            float[] v = (k < pooledEnd ? pooled : leftover).get(fr.text(k));
            if (v.length != dim) throw new IllegalStateException("the model returned vectors of different widths");
            for (float x : v) data.putFloat(x);
        }
        return SsiStream.of(fr.sampleRate(), dim, SampleType.FLOAT, 4, data.array());
    }

    private static void put(Map<String, float[]> into, List<String> texts, float[][] vectors) {
        if (vectors == null || vectors.length != texts.size()) {
            throw new IllegalStateException("the model returned " + (vectors == null ? "nothing" : vectors.length + " vectors")
                    + " for " + texts.size() + " texts");
        }
        for (int i = 0; i < vectors.length; i++) into.put(texts.get(i), vectors[i]);
    }
}
