package dev.xlmr.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Slow clients against a real server on loopback (issue 17): Jetty's idle timeout (30 s) restarts on every
 * byte, so a client trickling one byte a second was never closed. Now its connection is closed once its
 * headers take more than {@link SlowClientGuard#HEADER_TIMEOUT_MS}, or its body after the grace arrives
 * slower than {@link SlowClientGuard#MIN_BODY_RATE} bytes/s; a normal client is served meanwhile.
 */
class SlowClientsTest {
    static LocalInferenceService service;
    static XlmrServer server;
    static URI base;

    @BeforeAll
    static void start() throws Exception {
        service = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base", 0);
        server = XlmrServer.start(service, ServerOptions.defaults().port(0));
        base = server.uri();
    }

    @AfterAll
    static void stop() {
        server.close();
        service.close();
    }

    /** Sends {@code head} at once, then {@code trickle} one byte a second; returns the seconds until the server closed. */
    static double trickle(String head, String trickle) throws IOException, InterruptedException {
        try (Socket s = new Socket(base.getHost(), base.getPort())) {
            s.setSoTimeout(1000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            long t0 = System.nanoTime();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] bytes = trickle.getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; (System.nanoTime() - t0) / 1e9 < 40; i++) {
                try {
                    if (i < bytes.length) {
                        out.write(bytes[i]);
                        out.flush();
                    }
                } catch (IOException closed) {
                    return (System.nanoTime() - t0) / 1e9;
                }
                try {
                    // an answer (a 400 for a body cut off) may come first; the close is what counts
                    while (in.read() >= 0) { }
                    return (System.nanoTime() - t0) / 1e9;
                } catch (java.net.SocketTimeoutException stillOpen) {
                    // a second passed: send the next byte
                } catch (IOException reset) {
                    return (System.nanoTime() - t0) / 1e9;
                }
            }
            return Double.POSITIVE_INFINITY;
        }
    }

    @Test
    void tricklingClientsAreClosedAfterABoundedTimeWhileOthersAreServed() throws Exception {
        String longHeader = "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: " + "a".repeat(60) + "\r\n\r\n";
        CompletableFuture<Double> headers = CompletableFuture.supplyAsync(() -> run(() -> trickle("", longHeader)));
        String body = "{\"inputs\": \"" + "b".repeat(100) + "\"}";
        CompletableFuture<Double> slowBody = CompletableFuture.supplyAsync(() -> run(() -> trickle(
                "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n", body)));
        Thread.sleep(3000);
        TestSupport.Answer ok = TestSupport.postJson(base, "/embed", java.util.Map.of("inputs", "served meanwhile"));
        assertEquals(200, ok.status(), ok.body());

        double h = headers.get(), b = slowBody.get();
        // closed after the limit (not at once), well before the trickled request could have completed
        // (84 and 113 bytes at one a second) and before a 30 s idle timeout would matter
        assertTrue(h >= SlowClientGuard.HEADER_TIMEOUT_MS / 1000.0 && h < SlowClientGuard.HEADER_TIMEOUT_MS / 1000.0 + 5,
                "header trickle closed after " + h + " s");
        assertTrue(b >= SlowClientGuard.BODY_GRACE_MS / 1000.0 && b < SlowClientGuard.BODY_GRACE_MS / 1000.0 + 5,
                "body trickle closed after " + b + " s");
    }

    interface IoCall {
        double call() throws Exception;
    }

    static double run(IoCall c) {
        try {
            return c.call();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
