package dev.xlmr.nova;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * The DISCOVER {@code xlm_roberta} module without its model: frames a FREE transcript exactly as the
 * original and embeds each frame's window text with a pluggable {@link TextEmbedder}.
 *
 * <p>Framing (integer ms, F frame size, S stride, L/R context, D = {@code to} of the last record): frames
 * start at c = 0, S, 2S, ... while c + S &lt;= min(end, D); frame c's window is
 * [max(0, c-L), min(D, c+F+R)]; its text is the labels of all records overlapping the window (both ends
 * inclusive) in file order, concatenated without separator and stripped. Empty texts are embedded too.
 * The output is N x dim float32 at sr = 1000 / S.
 *
 * <p>Identical window texts are embedded once per job (neighbouring 40 ms frames share most windows), in
 * order of first appearance, in batches; cancellation is checked before each batch.
 *
 * <pre>{@code
 * FreeAnnotation t = Annotations.readFree(Path.of("transcript.annotation"));
 * SsiStream s = XlmRobertaModule.process(t, FramingOptions.of(40, 960), model,
 *         16, job::isCancelled, (done, total) -> job.progress(done, total));
 * s.write(Path.of("embeddings.stream"), FileType.BINARY);
 * }</pre>
 */
public final class XlmRobertaModule {
    private XlmRobertaModule() {}

    /** The trainer's default {@code batch_size}. */
    public static final int DEFAULT_BATCH_SIZE = 16;

    /** More frames than this is a malformed annotation or framing (it is ~9 days at 40 ms). */
    static final long MAX_FRAMES = 20_000_000;

    /**
     * Progress in distinct texts embedded so far out of all distinct texts of the job.
     *
     * <pre>{@code
     * Progress p = (done, total) -> job.setProgress(100.0 * done / total);
     * }</pre>
     */
    @FunctionalInterface
    public interface Progress {
        /** Called after each batch. */
        void update(int embedded, int total);
    }

    /**
     * The frames of a job: each frame's index into the distinct window texts.
     *
     * <pre>{@code
     * Framing f = XlmRobertaModule.frame(t, FramingOptions.of(500, 1000));
     * f.frameCount();   // 7
     * f.text(2);        // "hello worldhow are you"
     * }</pre>
     */
    public static final class Framing {
        private final long strideMs;
        private final int[] frameText;
        private final List<String> texts;

        Framing(long strideMs, int[] frameText, List<String> texts) {
            this.strideMs = strideMs;
            this.frameText = frameText;
            this.texts = List.copyOf(texts);
        }

        /** N. */
        public int frameCount() {
            return frameText.length;
        }

        /** The window text of a frame. */
        public String text(int frame) {
            return texts.get(frameText[frame]);
        }

        /** The index of a frame's text in {@link #distinctTexts()}. */
        public int textIndex(int frame) {
            return frameText[frame];
        }

        /** The distinct window texts in order of first appearance. */
        public List<String> distinctTexts() {
            return texts;
        }

        /** 1000 / S. */
        public double sampleRate() {
            return 1000.0 / strideMs;
        }
    }

    /** Computes the frames and their window texts (no embedding). */
    public static Framing frame(FreeAnnotation ann, FramingOptions opts) {
        return frame(ann, opts, ann.durationMs());
    }

    /**
     * N for a session of {@code durationMs}: frames start at c = kS while c + S &lt;= min(end, D).
     *
     * <pre>{@code
     * XlmRobertaModule.frameCount(FramingOptions.of(40, 960), 3500);   // 87
     * }</pre>
     */
    public static long frameCount(FramingOptions opts, long durationMs) {
        long s = opts.effectiveStrideMs();
        long limit = opts.endMs() > 0 ? Math.min(opts.endMs(), durationMs) : durationMs;
        return limit >= s ? limit / s : 0;
    }

    /**
     * Checks, before anything is allocated, that a job's frames fit {@code maxBytes}: the stream
     * (frames x dim floats) and the frame index (one int a frame).
     *
     * @throws JobTooLargeException naming the frames, the bytes needed and the limit
     */
    public static void checkMemory(FramingOptions opts, long durationMs, int dim, long maxBytes) {
        long n = frameCount(opts, durationMs);
        double bytes = (double) n * (4.0 * dim + 4.0);
        if (n > MAX_FRAMES || bytes > maxBytes || bytes > Annotations.MAX_DATA_BYTES) {
            throw new JobTooLargeException(String.format(java.util.Locale.ROOT,
                    "%d ms at %d ms frames is %d frames x %d floats = %.1f MB, more than the job memory limit of %.1f MB"
                            + " (at most %d frames)", durationMs, opts.effectiveStrideMs(), n, dim, bytes / 1e6,
                    Math.min(maxBytes, Annotations.MAX_DATA_BYTES) / 1e6, MAX_FRAMES));
        }
    }

    /**
     * Frames with the session duration D given apart: DISCOVER takes D from the session's database entry
     * when it has one, else from the annotation ({@link FreeAnnotation#durationMs()}).
     */
    public static Framing frame(FreeAnnotation ann, FramingOptions opts, long durationMs) {
        long d = durationMs;
        long s = opts.effectiveStrideMs(), f = opts.effectiveFrameMs();
        long n = frameCount(opts, d); // c = kS with c + S <= min(end, D)
        if (n > MAX_FRAMES) {
            throw new JobTooLargeException(n + " frames of " + s + " ms exceed the limit of " + MAX_FRAMES);
        }
        List<FreeAnnotation.Label> labels = ann.labels();
        int m = labels.size();
        long[] from = new long[m], to = new long[m];
        for (int i = 0; i < m; i++) {
            from[i] = labels.get(i).fromMs();
            to[i] = labels.get(i).toMs();
        }
        // Window bounds never decrease, so "from <= end" becomes true once and "to >= start" false once:
        // a sweep over records sorted by from and by to keeps the overlapping set without rescanning.
        Integer[] byFrom = sortedIndexes(from);
        Integer[] byTo = sortedIndexes(to);
        TreeSet<Integer> active = new TreeSet<>(); // file order
        Map<String, Integer> ids = new HashMap<>();
        List<String> texts = new ArrayList<>();
        int[] frameText = new int[(int) n];
        int pa = 0, pr = 0, current = -1;
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < n; k++) {
            long c = k * s;
            long ws = Math.max(0, c - opts.leftContextMs());
            long we = Math.min(d, c + f + opts.rightContextMs());
            boolean changed = current < 0;
            for (; pa < m && from[byFrom[pa]] <= we; pa++) {
                int i = byFrom[pa];
                if (to[i] >= ws) changed |= active.add(i);
            }
            for (; pr < m && to[byTo[pr]] < ws; pr++) changed |= active.remove(byTo[pr]);
            if (changed) {
                sb.setLength(0);
                for (int i : active) sb.append(labels.get(i).text());
                String text = Texts.pyStrip(sb.toString());
                current = ids.computeIfAbsent(text, t -> {
                    texts.add(t);
                    return texts.size() - 1;
                });
            }
            frameText[k] = current;
        }
        return new Framing(s, frameText, texts);
    }

    private static Integer[] sortedIndexes(long[] key) {
        Integer[] idx = new Integer[key.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        Arrays.sort(idx, (a, b) -> Long.compare(key[a], key[b]));
        return idx;
    }

    /** {@link #process(FreeAnnotation, FramingOptions, TextEmbedder, int, BooleanSupplier, Progress)} with batch 16, no cancellation, no progress. */
    public static SsiStream process(FreeAnnotation ann, FramingOptions opts, TextEmbedder embedder) {
        return process(ann, opts, embedder, DEFAULT_BATCH_SIZE, () -> false, (a, b) -> { });
    }

    /**
     * Frames, embeds each distinct window text once and assembles the N x dim FLOAT stream.
     *
     * @param batchSize texts per {@link TextEmbedder#embed} call
     * @param cancelled checked before every batch
     * @param progress  called after every batch
     * @throws CancellationException when {@code cancelled} turns true
     * @throws IllegalStateException when the embedder returns the wrong number or width of vectors
     */
    public static SsiStream process(FreeAnnotation ann, FramingOptions opts, TextEmbedder embedder, int batchSize,
                                    BooleanSupplier cancelled, Progress progress) {
        return process(ann, opts, ann.durationMs(), embedder, batchSize, Annotations.MAX_DATA_BYTES, cancelled, progress);
    }

    /**
     * {@link #process(FreeAnnotation, FramingOptions, TextEmbedder, int, BooleanSupplier, Progress)} for a
     * session of {@code durationMs}, refused with {@link JobTooLargeException} before any allocation when
     * its stream and frame index need more than {@code maxBytes} ({@link #checkMemory}).
     */
    public static SsiStream process(FreeAnnotation ann, FramingOptions opts, long durationMs, TextEmbedder embedder,
                                    int batchSize, long maxBytes, BooleanSupplier cancelled, Progress progress) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size " + batchSize);
        checkMemory(opts, durationMs, embedder.dimension(), maxBytes);
        Framing fr = frame(ann, opts, durationMs);
        List<String> texts = fr.distinctTexts();
        int total = texts.size();
        byte[][] vectors = new byte[total][];
        int dim = -1;
        for (int at = 0; at < total; at += batchSize) {
            if (cancelled.getAsBoolean()) throw new CancellationException("cancelled after " + at + " of " + total + " texts");
            List<String> batch = texts.subList(at, Math.min(total, at + batchSize));
            float[][] out = embedder.embed(batch);
            if (out == null || out.length != batch.size()) {
                throw new IllegalStateException("embedder returned " + (out == null ? "null" : out.length + " vectors")
                        + " for " + batch.size() + " texts");
            }
            for (int j = 0; j < out.length; j++) {
                if (dim < 0) {
                    dim = out[j] == null ? 0 : out[j].length;
                    if (dim < 1) throw new IllegalStateException("embedder returned an empty vector");
                    if (dim != embedder.dimension()) checkMemory(opts, durationMs, dim, maxBytes);
                }
                if (out[j] == null || out[j].length != dim) {
                    throw new IllegalStateException("embedder returned vectors of different widths");
                }
                ByteBuffer b = ByteBuffer.allocate(dim * 4).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(out[j]);
                vectors[at + j] = b.array();
            }
            progress.update(at + batch.size(), total);
        }
        if (dim < 0) dim = embedder.dimension();
        int rowBytes = dim * 4;
        byte[] data = new byte[Math.multiplyExact(fr.frameCount(), rowBytes)];
        for (int k = 0; k < fr.frameCount(); k++) {
            System.arraycopy(vectors[fr.textIndex(k)], 0, data, k * rowBytes, rowBytes);
        }
        return SsiStream.of(fr.sampleRate(), dim, SampleType.FLOAT, 4, data);
    }
}
