package dev.xlmr.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The lines of standard input, handed out in batches as they arrive, so that a command answers while
 * its input is still coming ({@code yes hello | ./xlmr embed ... | head -1} ends at once).
 *
 * <p>A daemon thread reads the lines into a bounded queue (at most {@code capacity} lines wait, so an
 * endless input does not fill the memory); {@link #next(int)} blocks for one line, then takes the lines
 * that are already there or arrive within {@link #LINGER_MILLIS}, up to the batch size. A reader thread
 * rather than {@code BufferedReader.ready()} because a half-written line must not hold back the lines
 * before it.
 *
 * <pre>{@code
 * try (StdinLines lines = new StdinLines(System.in, 64)) {
 *     for (List<StdinLines.Line> batch; !(batch = lines.next(32)).isEmpty(); ) {
 *         ... // answer the batch, flush
 *     }
 * }
 * }</pre>
 */
final class StdinLines implements AutoCloseable {
    /** How long a batch waits for company once its first line is there. */
    static final long LINGER_MILLIS = 10;

    /** One line of input and its 1-based line number. */
    record Line(int number, String text) {}

    private static final Line END = new Line(-1, null);

    private final BlockingQueue<Line> queue;
    private final Thread reader;
    private volatile IOException failure;
    private volatile boolean closed;
    private boolean ended;

    StdinLines(InputStream in, int capacity) {
        queue = new ArrayBlockingQueue<>(Math.max(1, capacity));
        reader = Thread.ofPlatform().daemon().name("xlmr-stdin").unstarted(() -> read(in));
        reader.start();
    }

    private void read(InputStream in) {
        // not closed: it is the process's stdin (or a test's stream)
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        int number = 0;
        try {
            for (String line; (line = readLine(r)) != null; ) {
                queue.put(new Line(++number, line));
            }
        } catch (IOException e) {
            if (closed) {
                return; // e.g. an interrupted read of a pipe after close()
            }
            failure = e;
        } catch (InterruptedException e) {
            return; // closed
        }
        try {
            queue.put(END);
        } catch (InterruptedException e) {
            // closed
        }
    }

    /**
     * One line ended by LF (a CR before it is dropped, for CRLF files), or null at the end. Unlike
     * {@link BufferedReader#readLine()} a bare CR is part of the line: it does not split one input in two.
     */
    static String readLine(BufferedReader r) throws IOException {
        StringBuilder sb = null;
        while (true) {
            int c = r.read();
            if (c < 0) {
                return sb == null ? null : stripCr(sb);
            }
            if (sb == null) {
                sb = new StringBuilder();
            }
            if (c == '\n') {
                return stripCr(sb);
            }
            sb.append((char) c);
        }
    }

    private static String stripCr(StringBuilder sb) {
        int n = sb.length();
        return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
    }

    /**
     * The next lines: blocks until one is there, then takes at most {@code max} of those ready; empty at
     * the end of the input.
     *
     * @throws UncheckedIOException when stdin cannot be read
     */
    List<Line> next(int max) {
        List<Line> batch = new ArrayList<>();
        if (ended) {
            IOException f = failure;
            failure = null;
            if (f != null) {
                throw new UncheckedIOException("cannot read standard input: " + f.getMessage(), f);
            }
            return batch;
        }
        try {
            Line line = queue.take();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LINGER_MILLIS);
            while (line != END) {
                batch.add(line);
                if (batch.size() >= max) {
                    return batch;
                }
                line = queue.poll();
                if (line == null) {
                    line = queue.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                    if (line == null) {
                        return batch;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ended = true;
        return batch.isEmpty() ? next(max) : batch; // a read error comes after the lines read before it
    }

    /** All the remaining lines (for a command whose whole input is one question). */
    List<Line> all() {
        List<Line> out = new ArrayList<>();
        for (List<Line> b; !(b = next(Integer.MAX_VALUE)).isEmpty(); ) {
            out.addAll(b);
        }
        return out;
    }

    /** Stops the reader when it waits for room in the queue; one blocked in a read stays (a daemon). */
    @Override
    public void close() {
        closed = true;
        reader.interrupt();
    }
}
