package dev.xlmr.nova;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class XlmRobertaModuleTest {
    @TempDir
    Path dir;

    /** Records every text it is asked for; its vectors are a function of the text, of width dim. */
    static final class CountingEmbedder implements TextEmbedder {
        final int dim;
        final List<String> seen = new ArrayList<>();
        int calls;

        CountingEmbedder(int dim) {
            this.dim = dim;
        }

        @Override
        public float[][] embed(List<String> texts) {
            calls++;
            seen.addAll(texts);
            float[][] out = new float[texts.size()][dim];
            for (int i = 0; i < texts.size(); i++) {
                out[i][0] = texts.get(i).length();
                out[i][dim - 1] = texts.get(i).hashCode();
            }
            return out;
        }

        @Override
        public int dimension() {
            return dim;
        }
    }

    /** The specification's framing, written as plainly as possible. */
    static List<String> naive(FreeAnnotation a, FramingOptions o) {
        long d = a.durationMs(), s = o.effectiveStrideMs();
        long limit = o.endMs() > 0 ? Math.min(o.endMs(), d) : d;
        List<String> out = new ArrayList<>();
        for (long c = 0; c + s <= limit; c += s) out.add(naiveText(a, o, c));
        return out;
    }

    static String naiveText(FreeAnnotation a, FramingOptions o, long c) {
        long d = a.durationMs();
        long ws = Math.max(0, c - o.leftContextMs()), we = Math.min(d, c + o.effectiveFrameMs() + o.rightContextMs());
        StringBuilder b = new StringBuilder();
        for (FreeAnnotation.Label l : a.labels()) {
            if (l.fromMs() <= we && l.toMs() >= ws) b.append(l.text());
        }
        return Texts.pyStrip(b.toString());
    }

    static List<String> texts(XlmRobertaModule.Framing f) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < f.frameCount(); i++) out.add(f.text(i));
        return out;
    }

    @Test
    void parsesRequestTimeStrings() {
        assertEquals(40, FramingOptions.parseTimeMs("40ms"));
        assertEquals(2000, FramingOptions.parseTimeMs("2s"));
        assertEquals(500, FramingOptions.parseTimeMs("0.5"));
        assertEquals(2009, FramingOptions.parseTimeMs("2.01"));
        assertEquals(960, FramingOptions.parseTimeMs(" 960 "));
        assertEquals(0, FramingOptions.parseTimeMs(null));
        assertEquals(0, FramingOptions.parseTimeMs(""));
        assertThrows(IllegalArgumentException.class, () -> FramingOptions.parseTimeMs("-1"));
        assertThrows(IllegalArgumentException.class, () -> FramingOptions.parseTimeMs("40 minutes"));
        FramingOptions o = FramingOptions.fromRequest(Map.of("frame_size", "40ms", "left_context", "960ms", "jobID", "x"));
        assertEquals(FramingOptions.of(40, 960), o);
        assertEquals(40, o.effectiveStrideMs());
        assertThrows(IllegalArgumentException.class, () -> FramingOptions.fromRequest(Map.of()));
    }

    @Test
    void specVector500ms() throws IOException {
        FreeAnnotation t = Fixtures.transcript(dir);
        XlmRobertaModule.Framing f = XlmRobertaModule.frame(t, FramingOptions.fromRequest(
                Map.of("frame_size", "500ms", "left_context", "1000ms")));
        String hw = "hello world", both = "hello worldhow are you", end = "how are youbye";
        assertEquals(List.of(hw, hw, both, both, both, end, end), texts(f));
        assertEquals(2.0, f.sampleRate());
        assertEquals(List.of(hw, both, end), f.distinctTexts());
    }

    @Test
    void specVector40msAndItsStreamHeader() throws IOException {
        FreeAnnotation t = Fixtures.transcript(dir);
        FramingOptions o = FramingOptions.fromRequest(Map.of("frame_size", "40ms", "left_context", "960ms"));
        XlmRobertaModule.Framing f = XlmRobertaModule.frame(t, o);
        assertEquals(87, f.frameCount());
        assertEquals(25.0, f.sampleRate());
        for (int i = 0; i <= 11; i++) assertEquals("", f.text(i), "frame " + i);
        assertEquals("hello world", f.text(12));
        assertEquals("hello worldhow are you", f.text(32));
        assertNotEquals("hello worldhow are you", f.text(31));
        assertEquals(32, texts(f).indexOf("hello worldhow are you"));
        assertEquals("bye", f.text(85));
        assertEquals("bye", f.text(86));
        assertEquals(naive(t, o), texts(f));

        CountingEmbedder e = new CountingEmbedder(768);
        SsiStream s = XlmRobertaModule.process(t, o, e);
        assertEquals(Set.copyOf(texts(f)).size(), e.seen.size(), "each distinct text embedded once");
        assertTrue(e.seen.contains(""), "empty windows are embedded too");
        Path h = dir.resolve("embeddings.stream");
        s.write(h, FileType.BINARY);
        assertEquals(Fixtures.text("embeddings-87x768.stream"), Files.readString(h));
        assertEquals(87L * 768 * 4, Files.size(dir.resolve("embeddings.stream~")));
        SsiStream back = SsiStream.read(h);
        assertEquals("hello world".length(), back.value(12, 0));
        assertEquals("bye".hashCode(), back.value(86, 767), 1e3);
    }

    @Test
    void sweepMatchesTheNaiveFramingOnRandomAnnotations() {
        Random r = new Random(42);
        for (int trial = 0; trial < 300; trial++) {
            List<FreeAnnotation.Label> labels = new ArrayList<>();
            int m = r.nextInt(12);
            for (int i = 0; i < m; i++) {
                double from = r.nextInt(6000) / 1000.0;
                double to = r.nextInt(10) == 0 ? from - 0.3 : from + r.nextInt(3000) / 1000.0; // some from > to
                String text = switch (r.nextInt(4)) {
                    case 0 -> " w" + i + " ";
                    case 1 -> "\u00a0";
                    case 2 -> "x";
                    default -> "w" + i;
                };
                labels.add(new FreeAnnotation.Label(from, to, text, 1));
            }
            FreeAnnotation a = FreeAnnotation.of("t", labels);
            FramingOptions o = new FramingOptions(1 + r.nextInt(4) * 100, r.nextInt(3) * 70, r.nextInt(3) * 500,
                    r.nextInt(3) * 250, 0, r.nextInt(3) * 1500);
            XlmRobertaModule.Framing f = XlmRobertaModule.frame(a, o);
            assertEquals(naive(a, o), texts(f), "trial " + trial + " " + o + " " + labels);
            assertEquals(Set.copyOf(texts(f)).size(), f.distinctTexts().size());
        }
    }

    @Test
    void oneHourAt40msFramesQuicklyAndEmbedsEachTextOnce() {
        // 1 hour of 2.5 s utterances with 0.5 s pauses: 1200 records, 90,000 frames of 40 ms
        List<FreeAnnotation.Label> labels = new ArrayList<>();
        for (int i = 0; i < 1200; i++) {
            labels.add(new FreeAnnotation.Label(i * 3.0, i * 3.0 + 2.5, "utterance " + i + " ", 1));
        }
        labels.add(new FreeAnnotation.Label(3599.0, 3600.0, "end", 1));
        FreeAnnotation a = FreeAnnotation.of("transcript", labels);
        FramingOptions o = FramingOptions.of(40, 960);

        long t0 = System.nanoTime();
        XlmRobertaModule.Framing f = XlmRobertaModule.frame(a, o);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(90_000, f.frameCount());
        assertTrue(ms < 1500, "framing took " + ms + " ms");

        CountingEmbedder e = new CountingEmbedder(4);
        List<int[]> progress = new ArrayList<>();
        SsiStream s = XlmRobertaModule.process(a, o, e, 32, () -> false, (done, total) -> progress.add(new int[] {done, total}));
        assertEquals(90_000, s.numSamples());
        assertEquals(new HashSet<>(e.seen).size(), e.seen.size(), "no text is embedded twice");
        assertEquals(f.distinctTexts(), e.seen);
        assertTrue(e.seen.size() < 3000, e.seen.size() + " distinct texts");
        assertEquals((e.seen.size() + 31) / 32, e.calls);
        assertEquals(e.seen.size(), progress.getLast()[0]);
        assertEquals(e.seen.size(), progress.getLast()[1]);
        for (int k = 0; k < 90_000; k += 997) {
            assertEquals(naiveText(a, o, k * 40L), f.text(k), "frame " + k);
            assertEquals(f.text(k).length(), s.value(k, 0));
        }
    }

    @Test
    void cancellationStopsBetweenBatches() throws IOException {
        FreeAnnotation t = Fixtures.transcript(dir);
        CountingEmbedder e = new CountingEmbedder(2);
        AtomicInteger batches = new AtomicInteger();
        assertThrows(CancellationException.class, () -> XlmRobertaModule.process(t, FramingOptions.of(40, 960), e, 1,
                () -> batches.get() >= 2, (done, total) -> batches.incrementAndGet()));
        assertEquals(2, e.calls);
    }

    @Test
    void badEmbeddersAndEdgeCases() throws IOException {
        FreeAnnotation t = Fixtures.transcript(dir);
        FramingOptions o = FramingOptions.of(500, 1000);
        assertThrows(IllegalStateException.class, () -> XlmRobertaModule.process(t, o, texts -> new float[1][3]));
        assertThrows(IllegalStateException.class, () -> XlmRobertaModule.process(t, o,
                texts -> texts.stream().map(x -> new float[x.length() % 2 + 1]).toArray(float[][]::new)));
        assertThrows(IllegalArgumentException.class, () -> XlmRobertaModule.process(t, o, new CountingEmbedder(2), 0,
                () -> false, (a, b) -> { }));

        SsiStream empty = XlmRobertaModule.process(FreeAnnotation.of("t", List.of()), o, new CountingEmbedder(768));
        assertEquals(0, empty.numSamples());
        assertEquals(768, empty.dim());

        // end, stride and right context
        assertEquals(3, XlmRobertaModule.frame(t, new FramingOptions(500, 0, 0, 0, 0, 1999)).frameCount());
        XlmRobertaModule.Framing strided = XlmRobertaModule.frame(t, new FramingOptions(1000, 250, 0, 500, 0, 0));
        assertEquals(14, strided.frameCount());
        assertEquals(4.0, strided.sampleRate());
        assertEquals(naive(t, new FramingOptions(1000, 250, 0, 500, 0, 0)), texts(strided));

        FreeAnnotation nb = FreeAnnotation.of("t", List.of(new FreeAnnotation.Label(0, 1, "\u00a0 hi \u3000", 1)));
        assertEquals("hi", XlmRobertaModule.frame(nb, FramingOptions.of(500, 0)).text(0), "Python's strip()");
        assertEquals(List.of(), Collections.unmodifiableList(XlmRobertaModule.frame(nb, FramingOptions.of(2000, 0)).distinctTexts()));
    }

    @Test
    void aJobTooLargeForItsMemoryLimitIsRefusedBeforeAllocating() {
        // one record spanning 640,000 s: 16,000,000 frames of 40 ms
        FreeAnnotation huge = FreeAnnotation.of("t", List.of(new FreeAnnotation.Label(0, 640_000, "hello", 1f)));
        AtomicInteger calls = new AtomicInteger();
        TextEmbedder fake = texts -> {
            calls.incrementAndGet();
            return texts.stream().map(t -> new float[32]).toArray(float[][]::new);
        };
        JobTooLargeException e = assertThrows(JobTooLargeException.class, () -> XlmRobertaModule.process(huge,
                FramingOptions.of(40, 960), huge.durationMs(), new TextEmbedder() {
                    public float[][] embed(List<String> texts) { return fake.embed(texts); }
                    public int dimension() { return 32; }
                }, 16, 64L << 20, () -> false, (a, b) -> { }));
        assertTrue(e.getMessage().contains("16000000 frames x 32 floats = 2112.0 MB, more than the job memory limit of 67.1 MB"),
                e.getMessage());
        assertEquals(0, calls.get(), "nothing was embedded");
        assertThrows(JobTooLargeException.class, () -> NovaEmbedding.process(huge, FramingOptions.of(40, 960),
                huge.durationMs(), NovaEmbedding.Mode.COMPAT, 16, (t, v) -> fake.embed(t), 768, 1L << 30, () -> false, (a, b) -> { }));
        // 87 frames x 32 floats fit easily
        assertEquals(87, XlmRobertaModule.frameCount(FramingOptions.of(40, 960), 3500));
        XlmRobertaModule.checkMemory(FramingOptions.of(40, 960), 3500, 32, 87 * (32 * 4 + 4));
        assertThrows(JobTooLargeException.class, () -> XlmRobertaModule.checkMemory(FramingOptions.of(40, 960), 3500, 32, 87 * (32 * 4 + 4) - 1));
    }

    @Test
    void aSessionDurationLongerThanTheTranscriptAddsEmptyFrames() {
        FreeAnnotation t = FreeAnnotation.of("t", List.of(new FreeAnnotation.Label(0.5, 1.25, "hello world", 1f),
                new FreeAnnotation.Label(1.30, 2.0, "how are you", 0.9f), new FreeAnnotation.Label(3.0, 3.5, "bye", 1f)));
        XlmRobertaModule.Framing own = XlmRobertaModule.frame(t, FramingOptions.of(500, 1000));
        XlmRobertaModule.Framing longer = XlmRobertaModule.frame(t, FramingOptions.of(500, 1000), 5000);
        assertEquals(7, own.frameCount());
        assertEquals(10, longer.frameCount());
        for (int k = 0; k < 7; k++) assertEquals(own.text(k), longer.text(k));
        // frame 7 = [2500, 4000]: "bye" (3.0-3.5) still overlaps; frame 9 = [3500, 5000] touches its end
        assertEquals("bye", longer.text(7));
        assertEquals("bye", longer.text(9));
        XlmRobertaModule.Framing shorter = XlmRobertaModule.frame(t, FramingOptions.of(500, 1000), 1000);
        assertEquals(List.of("hello world", "hello world"), List.of(shorter.text(0), shorter.text(1)));
    }
}
