package dev.xlmr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stdin streams: answers come while the input still arrives, in input order, and a closed stdout ends
 * the command quietly with 0. Expected embeddings and ids are the Hugging Face references of the
 * fixtures in testdata/xlmr-base.
 */
class StreamingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double TOL = 1e-5;
    private final String model = CliRun.testdata("xlmr-base").toString();
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    /** The reference sentence embedding of each single-line fixture text (text pairs excluded). */
    static Map<String, JsonNode> references() throws IOException {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (JsonNode c : JSON.readTree(CliRun.testdata("xlmr-base").resolve("expected.json").toFile()).get("cases")) {
            if (c.has("text_pairs")) {
                continue;
            }
            for (int i = 0; i < c.get("texts").size(); i++) {
                String t = c.get("texts").get(i).asText();
                if (!t.contains("\n") && !t.isEmpty()) {
                    out.put(t, c.get("sentence_embedding").get(i));
                }
            }
        }
        return out;
    }

    /** The reference ids of "Hello world!" (the first fixture text), without the padding of its case. */
    static List<Integer> helloWorldIds() throws IOException {
        JsonNode c = JSON.readTree(CliRun.testdata("xlmr-base").resolve("expected.json").toFile()).get("cases").get(0);
        assertEquals("Hello world!", c.get("texts").get(0).asText());
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < c.get("input_ids").get(0).size(); i++) {
            if (c.get("attention_mask").get(0).get(i).asInt() == 1) {
                ids.add(c.get("input_ids").get(0).get(i).asInt());
            }
        }
        return ids;
    }

    static List<Integer> ids(String line) throws IOException {
        List<Integer> out = new ArrayList<>();
        JSON.readTree(line).get("ids").forEach(n -> out.add(n.asInt()));
        return out;
    }

    static void assertEmbedding(JsonNode expected, String line, String text) throws IOException {
        JsonNode got = JSON.readTree(line).get("embedding");
        assertNotNull(got, text + " -> " + line);
        assertEquals(expected.size(), got.size(), text);
        for (int j = 0; j < expected.size(); j++) {
            assertEquals(expected.get(j).asDouble(), got.get(j).asDouble(), TOL, text + " [" + j + "]");
        }
    }

    /** A stdout that hands each complete line to a queue as soon as it is written. */
    static final class LineSink extends OutputStream {
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final ByteArrayOutputStream current = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                lines.add(current.toString(StandardCharsets.UTF_8));
                current.reset();
            } else {
                current.write(b);
            }
        }

        String take() throws InterruptedException {
            String l = lines.poll(60, TimeUnit.SECONDS);
            assertNotNull(l, "no output line within 60 s");
            return l;
        }
    }

    /** A stdout that is closed by its reader after the first line, as {@code | head -1} does. */
    static final class HeadOne extends OutputStream {
        final ByteArrayOutputStream got = new ByteArrayOutputStream();
        boolean closed;

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            if (closed) {
                throw new IOException("Broken pipe");
            }
            got.write(b, off, len);
            closed = got.toString(StandardCharsets.UTF_8).contains("\n");
        }

        String firstLine() {
            return got.toString(StandardCharsets.UTF_8).lines().findFirst().orElse("");
        }
    }

    /** A stdin that never ends: the line again and again, as {@code yes LINE}. */
    static InputStream yes(String line) {
        byte[] l = (line + "\n").getBytes(StandardCharsets.UTF_8);
        return new InputStream() {
            long pos;

            @Override
            public int read() {
                return l[(int) (pos++ % l.length)] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                for (int i = 0; i < len; i++) {
                    b[off + i] = (byte) read();
                }
                return len;
            }
        };
    }

    private Future<Integer> start(InputStream in, OutputStream out, ByteArrayOutputStream err, String... args) {
        return pool.submit(() -> Main.run(in, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), args));
    }

    @Test
    void stdinLinesComeInBatchesOfWhatIsThereThenTheReadError() {
        StringBuilder ten = new StringBuilder();
        for (int i = 1; i <= 10; i++) {
            ten.append("line ").append(i).append(i % 2 == 0 ? "\r\n" : "\n");
        }
        byte[] bytes = ten.toString().getBytes(StandardCharsets.UTF_8);
        // all ten lines, then a failing read: the lines first, then the error
        InputStream in = new InputStream() {
            int pos;

            @Override
            public int read() throws IOException {
                if (pos < bytes.length) {
                    return bytes[pos++] & 0xff;
                }
                throw new IOException("device gone");
            }
        };
        try (StdinLines lines = new StdinLines(in, 3)) {
            List<StdinLines.Line> all = new ArrayList<>();
            List<Integer> sizes = new ArrayList<>();
            var e = org.junit.jupiter.api.Assertions.assertThrows(java.io.UncheckedIOException.class, () -> {
                for (List<StdinLines.Line> b; !(b = lines.next(4)).isEmpty(); ) {
                    sizes.add(b.size());
                    all.addAll(b);
                }
            });
            assertEquals("cannot read standard input: device gone", e.getMessage());
            assertEquals(10, all.size());
            for (int i = 0; i < 10; i++) {
                assertEquals(new StdinLines.Line(i + 1, "line " + (i + 1)), all.get(i));
            }
            assertTrue(sizes.stream().allMatch(n -> n >= 1 && n <= 4), sizes.toString());
            assertTrue(lines.next(4).isEmpty(), "the error is reported once");
        }
    }

    @Test
    void answersComeWhileTheInputStillArrives() throws Exception {
        List<String> texts = new ArrayList<>(references().keySet());
        Map<String, JsonNode> ref = references();
        PipedOutputStream feed = new PipedOutputStream();
        PipedInputStream stdin = new PipedInputStream(feed, 1 << 16);
        CountDownLatch release = new CountDownLatch(1);
        int first = 3;
        pool.submit(() -> {
            for (int i = 0; i < texts.size(); i++) {
                if (i == first) {
                    release.await(); // the producer stalls: the first lines must be answered meanwhile
                }
                feed.write((texts.get(i) + "\n").getBytes(StandardCharsets.UTF_8));
                feed.flush();
            }
            feed.close();
            return null;
        });
        LineSink out = new LineSink();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Future<Integer> run = start(stdin, out, err, "embed", "--model", model); // --batch-size 32 > the lines
        for (int i = 0; i < first; i++) {
            assertEmbedding(ref.get(texts.get(i)), out.take(), texts.get(i));
        }
        assertFalse(run.isDone(), "the command waits for more input");
        release.countDown();
        for (int i = first; i < texts.size(); i++) {
            assertEmbedding(ref.get(texts.get(i)), out.take(), texts.get(i));
        }
        assertEquals(0, run.get(60, TimeUnit.SECONDS), err.toString(StandardCharsets.UTF_8));
        assertTrue(out.lines.isEmpty(), "one output per input");
    }

    @Test
    void aClosedStdoutEndsTheCommandQuietlyWithZero() throws Exception {
        String text = "Hello world!";
        Map<String, String[]> commands = new LinkedHashMap<>();
        commands.put(text, new String[] {"embed", "--model", model});
        commands.put("{\"text\": \"" + text + "\"}", new String[] {"tokenize", "--model", model});
        for (var c : commands.entrySet()) {
            HeadOne out = new HeadOne();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            long t0 = System.nanoTime();
            Future<Integer> run = start(yes(c.getKey()), out, err, c.getValue());
            assertEquals(0, run.get(60, TimeUnit.SECONDS), c.getValue()[0]);
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals("", err.toString(StandardCharsets.UTF_8), c.getValue()[0] + ": nothing on stderr");
            if (c.getValue()[0].equals("embed")) {
                assertEmbedding(references().get(text), out.firstLine(), text);
            } else {
                assertEquals(helloWorldIds(), ids(out.firstLine()));
            }
            assertTrue(seconds < 30, c.getValue()[0] + " took " + seconds + " s");
        }
    }

    @Test
    void outputsKeepTheInputOrderAcrossBatchesOfMixedLengths() throws Exception {
        Map<String, JsonNode> ref = references();
        List<String> texts = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            texts.addAll(ref.keySet());
        }
        Collections.shuffle(texts, new Random(7));
        StringBuilder stdin = new StringBuilder();
        int bad = 9;
        for (int i = 0; i < texts.size(); i++) {
            if (i == bad) {
                stdin.append("{\"text\": 5}\n"); // a bad line in the middle of a batch
            }
            stdin.append(JSON.writeValueAsString(Map.of("text", texts.get(i)))).append('\n');
        }
        CliRun r = CliRun.run(stdin.toString(), "embed", "--model", model, "--jsonl", "--batch-size", "4");
        assertEquals(1, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(texts.size() + 1, lines.size());
        assertEquals("line 10: field \"text\" must be a string", JSON.readTree(lines.get(bad)).get("error").asText());
        assertEquals("xlmr: line 10: field \"text\" must be a string", r.err().strip());
        for (int i = 0, j = 0; i < lines.size(); i++) {
            if (i != bad) {
                assertEmbedding(ref.get(texts.get(j)), lines.get(i), texts.get(j));
                j++;
            }
        }
    }

    @Test
    void theStandaloneProcessEndsWhenItsReaderLeaves(@TempDir Path tmp) throws Exception {
        Map<String, JsonNode> ref = references();
        String text = "Hello world!";
        for (String command : List.of("embed", "tokenize")) {
            Path errFile = tmp.resolve(command + ".err");
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                    "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"),
                    Main.class.getName(), command, "--model", model)
                    .redirectError(errFile.toFile()).start();
            String line = command.equals("embed") ? text : "{\"text\": \"" + text + "\"}";
            // `yes`: writes until the child is gone
            pool.submit(() -> {
                byte[] b = (line + "\n").repeat(64).getBytes(StandardCharsets.UTF_8);
                try (OutputStream in = p.getOutputStream()) {
                    while (true) {
                        in.write(b);
                    }
                } catch (IOException gone) {
                    return null;
                }
            });
            String first;
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                first = out.readLine(); // then `head -1` closes the pipe
            }
            long t0 = System.nanoTime();
            boolean ended = p.waitFor(20, TimeUnit.SECONDS);
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (!ended) {
                p.destroyForcibly();
            }
            assertTrue(ended, command + " still runs 20 s after its stdout was closed");
            assertEquals(0, p.exitValue(), command + ": " + Files.readString(errFile));
            assertNotNull(first, command + ": " + Files.readString(errFile));
            if (command.equals("embed")) {
                assertEmbedding(ref.get(text), first, text);
            } else {
                assertEquals(helloWorldIds(), ids(first));
            }
            // the JVM's note about the incubator module and engine warnings are fine; no error, no stack trace
            for (String e : Files.readAllLines(errFile)) {
                assertTrue(e.startsWith("WARNING: Using incubator modules") || e.startsWith("xlmr: warning:"),
                        command + " wrote to stderr: " + e);
            }
            System.out.printf("%s: ended %.2f s after its stdout was closed%n", command, seconds);
        }
    }
}
