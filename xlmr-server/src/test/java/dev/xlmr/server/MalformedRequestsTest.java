package dev.xlmr.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.nova.Annotations;
import dev.xlmr.nova.FileType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed HTTP requests against a started server (issue 17): bad JSON, wrong content types, huge bodies,
 * lone surrogates, invalid UTF-8, wrong methods, broken HTTP framing. Each is sent as raw bytes over its
 * own socket; each must get an answer below 500 (the status TEI gives where it has one) whose body holds
 * no stack trace and none of the server's folders; the routes' own errors are TEI's JSON error body.
 */
class MalformedRequestsTest {
    @TempDir
    static Path root;
    static LocalInferenceService service;
    static XlmrServer server;
    static URI base;

    @BeforeAll
    static void start() throws Exception {
        Files.createDirectories(root.resolve("session"));
        Annotations.write(NovaRoutesTest.transcript(), root.resolve("session/transcript.annotation"), FileType.ASCII);
        service = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base", 0);
        server = XlmrServer.start(service, ServerOptions.defaults().port(0).novaRoot(root));
        base = server.uri();
    }

    @AfterAll
    static void stop() {
        server.close();
        service.close();
    }

    record Raw(int status, String head, String body) {}

    /** Writes {@code request} (from another thread: the server may answer and close before reading it all), reads the answer. */
    static Raw send(byte[] request) throws Exception {
        try (Socket s = new Socket(base.getHost(), base.getPort())) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    out.write(request);
                    out.flush();
                    s.shutdownOutput();
                } catch (IOException closedEarly) {
                    // the server answered (413, 400) without reading the rest
                }
            });
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) got.write(buf, 0, n);
            } catch (java.net.SocketException resetAfterAnswer) {
                // a reset after the answer (the unread rest of a huge body) loses nothing already read
            }
            writer.join(30_000);
            String text = got.toString(StandardCharsets.UTF_8);
            assertTrue(text.startsWith("HTTP/1.1 "), () -> "no HTTP answer: " + text);
            int split = text.indexOf("\r\n\r\n");
            return new Raw(Integer.parseInt(text.substring(9, 12)), text.substring(0, split), text.substring(split + 4));
        }
    }

    static byte[] request(String method, String path, String type, byte[] body) {
        String head = method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                + (type == null ? "" : "Content-Type: " + type + "\r\n") + "Content-Length: " + body.length + "\r\n\r\n";
        return concat(head.getBytes(StandardCharsets.ISO_8859_1), body);
    }

    static byte[] json(String path, String body) {
        return request("POST", path, "application/json", body.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) b.writeBytes(p);
        return b.toByteArray();
    }

    static byte[] bytes(String latin1) {
        return latin1.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Checks the promise for one request; returns the answer for the case's own checks. */
    static Raw check(String what, byte[] request, int expected) throws Exception {
        Raw r = send(request);
        String detail = what + " -> " + r.status() + " " + r.body();
        if (expected > 0) assertEquals(expected, r.status(), detail);
        // -1: any answer below 500 (NOVA's /process answers 200 to every request and fails the job, as DISCOVER)
        assertTrue(r.status() < 500 && (expected == -1 || r.status() >= 400), detail);
        String lower = r.body().toLowerCase(Locale.ROOT);
        for (String marker : List.of("\tat ", "at dev.xlmr.", "at java.", "at org.eclipse.", "exception:", "caused by")) {
            assertFalse(lower.contains(marker), "stack trace in " + detail);
        }
        for (String folder : List.of(root.toString(), root.toRealPath().toString(),
                TestSupport.testdata("").toAbsolutePath().normalize().toString(), Path.of("").toAbsolutePath().toString())) {
            assertFalse(r.body().contains(folder), "server folder in " + detail);
        }
        return r;
    }

    /** A route's own error: TEI's {"error", "error_type"}, or OpenAI's {"error": {"message", ...}} on /v1. */
    static void teiError(Raw r, String what) throws IOException {
        JsonNode n = TestSupport.JSON.readTree(r.body());
        JsonNode e = n.get("error");
        assertTrue(e != null && (e.isTextual() || e.path("message").isTextual()), what + ": not an error body: " + r.body());
        assertTrue(r.head().toLowerCase(Locale.ROOT).contains("content-type: application/json"), what + ": " + r.head());
    }

    @Test
    void badJsonIs400WithTheParsersLine() throws Exception {
        String[][] cases = {
            {"truncated", "/embed", "{\"inputs\": \"a\""},
            {"trailing garbage", "/embed", "{\"inputs\": \"a\"} }"},
            {"single quotes", "/embed", "{'inputs': 'a'}"},
            {"a bare word", "/v1/embeddings", "hello"},
            {"NaN literal", "/embed", "{\"inputs\": \"a\", \"dimensions\": NaN}"},
            {"control char in a string", "/tokenize", "{\"inputs\": \"a\u0001b\"}"},
            {"bad escape", "/embed", "{\"inputs\": \"a\\qb\"}"},
            {"100,000 nested arrays", "/embed", "[".repeat(100_000)},
            {"3,000 nested objects", "/rerank", "{\"a\":".repeat(3000) + "1" + "}".repeat(3000)},
            {"empty body", "/embed", ""},
            {"whitespace only", "/predict", "  \n "},
        };
        for (String[] c : cases) {
            Raw r = check(c[0], json(c[1], c[2]), 0);
            teiError(r, c[0]);
        }
    }

    @Test
    void wrongShapesAre4xx() throws Exception {
        for (String body : List.of("null", "42", "\"text\"", "[]", "{}", "{\"inputs\": null}", "{\"inputs\": {}}",
                "{\"inputs\": [[[\"a\"]]]}", "{\"inputs\": 1e999}", "{\"inputs\": [0, 99999999999999999999]}")) {
            for (String path : List.of("/embed", "/v1/embeddings", "/tokenize", "/rerank", "/predict", "/decode", "/similarity")) {
                teiError(check(path + " " + body, json(path, body), 0), path + " " + body);
            }
        }
        // fields of the wrong type (unknown fields are ignored, as TEI does)
        for (String body : List.of("{\"inputs\": \"a\", \"normalize\": \"yes\"}", "{\"inputs\": \"a\", \"truncate\": 7}",
                "{\"inputs\": \"a\", \"dimensions\": -1}", "{\"inputs\": \"a\", \"truncation_direction\": 3}")) {
            teiError(check("/embed " + body, json("/embed", body), 0), "/embed " + body);
        }
    }

    @Test
    void wrongContentTypesAre415() throws Exception {
        byte[] body = bytes("{\"inputs\": \"a\"}");
        for (String type : new String[] {null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                "application/xml", "json", ";;;", "application/json-seq"}) {
            teiError(check("/embed as " + type, request("POST", "/embed", type, body), 415), "/embed as " + type);
        }
        // a form route given JSON
        teiError(check("/process as JSON", json("/process", "{\"jobID\": \"x\"}"), 415), "/process as JSON");
        // JSON with its charset parameter is still JSON
        assertEquals(200, send(request("POST", "/embed", "application/json; charset=utf-8", body)).status());
    }

    @Test
    void hugeBodiesAre413() throws Exception {
        String big = "{\"inputs\": \"" + "a ".repeat(1_500_000) + "\"}"; // 3 MB, over the 2 MB limit
        teiError(check("3 MB JSON", json("/embed", big), 413), "3 MB JSON");
        teiError(check("3 MB OpenAI", json("/v1/embeddings", big.replace("inputs", "input")), 413), "3 MB OpenAI");
        // a Content-Length of 100 GB with a small body: refused before reading
        byte[] liar = bytes("POST /embed HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                + "Content-Length: 100000000000\r\n\r\n{\"inputs\": \"a\"}");
        teiError(check("100 GB Content-Length", liar, 413), "100 GB Content-Length");
        // 3 MB chunked (no Content-Length)
        String chunk = "a".repeat(1 << 20);
        StringBuilder chunked = new StringBuilder("POST /embed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
        chunked.append(Integer.toHexString(13)).append("\r\n{\"inputs\": \"a\r\n");
        for (int i = 0; i < 3; i++) chunked.append(Integer.toHexString(chunk.length())).append("\r\n").append(chunk).append("\r\n");
        chunked.append("2\r\n\"}\r\n0\r\n\r\n");
        teiError(check("3 MB chunked", bytes(chunked.toString()), 413), "3 MB chunked");
        // a 3 MB NOVA form
        teiError(check("3 MB form", request("POST", "/process", "application/x-www-form-urlencoded",
                bytes("jobID=x&data=" + "a".repeat(3 << 20))), 413), "3 MB form");
    }

    @Test
    void loneSurrogatesAre400() throws Exception {
        String[][] cases = {
            {"/embed", "{\"inputs\": \"a\\ud800b\"}"},
            {"/embed", "{\"inputs\": [\"ok\", \"\\udfff\"]}"},
            {"/v1/embeddings", "{\"input\": \"\\udc00\"}"},
            {"/tokenize", "{\"inputs\": \"x\\ud83d\"}"},
            {"/rerank", "{\"query\": \"q\", \"texts\": [\"\\ud800\"]}"},
            {"/predict", "{\"inputs\": \"\\ude00 reversed \\ud83d\"}"},
            {"/embed", "{\"in\\ud800puts\": \"a\"}"},
            {"/decode", "{\"ids\": [0, 2], \"x\": \"\\ud800\"}"},
        };
        for (String[] c : cases) {
            Raw r = check(c[0] + " " + c[1], json(c[0], c[1]), 400);
            teiError(r, c[1]);
            assertTrue(r.body().contains("surrogate"), r.body());
        }
        // a valid pair is text
        assertEquals(200, send(json("/embed", "{\"inputs\": \"emoji \\ud83d\\ude00\"}")).status());
    }

    @Test
    void invalidUtf8Is400() throws Exception {
        byte[][] bodies = {
            concat(bytes("{\"inputs\": \"a"), new byte[] {(byte) 0xff, (byte) 0xfe}, bytes("\"}")),
            concat(bytes("{\"inputs\": \""), new byte[] {(byte) 0xc0, (byte) 0xaf}, bytes("\"}")), // overlong '/'
            concat(bytes("{\"inputs\": \""), new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, bytes("\"}")), // CESU surrogate
            concat(bytes("{\"inputs\": \""), new byte[] {(byte) 0xe6, (byte) 0x97}, bytes("\"}")), // cut multibyte
            concat(bytes("{\"inputs\": \""), new byte[] {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, bytes("\"}")), // > U+10FFFF
            concat(bytes("{\"inputs\": \"a\"}"), new byte[] {(byte) 0x80}),
        };
        for (String path : List.of("/embed", "/v1/embeddings", "/tokenize")) {
            for (byte[] b : bodies) {
                teiError(check(path + " invalid UTF-8", request("POST", path, "application/json", b), 400), path);
            }
        }
        // a NOVA form field that is not UTF-8 after percent-decoding, and a broken percent escape
        for (String form : List.of("jobID=%ff%fe&data=x", "jobID=%zz", "jobID=%", "=&=&&=", "jobID=" + "%e6%97")) {
            Raw r = check("/process form " + form, request("POST", "/process", "application/x-www-form-urlencoded", bytes(form)), -1);
            if (r.status() == 200) {
                assertEquals("True", TestSupport.JSON.readTree(r.body()).path("success").asText(), r.body());
            } else {
                teiError(r, form);
            }
        }
    }

    @Test
    void wrongMethodsAre405AndUnknownRoutes404() throws Exception {
        for (String m : List.of("GET", "PUT", "DELETE", "PATCH")) {
            for (String path : List.of("/embed", "/v1/embeddings", "/rerank", "/predict", "/tokenize", "/process")) {
                teiError(check(m + " " + path, request(m, path, "application/json", bytes("{}")), 405), m + " " + path);
            }
        }
        teiError(check("POST /health", request("POST", "/health", "application/json", bytes("{}")), 405), "POST /health");
        teiError(check("unknown route", json("/embedz", "{}"), 404), "unknown route");
        check("unknown method", request("FROB", "/embed", "application/json", bytes("{}")), 0);
        check("TRACE", request("TRACE", "/embed", null, new byte[0]), 0);
        check("CONNECT", bytes("CONNECT x:443 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 0);
    }

    @Test
    void brokenHttpIs4xx() throws Exception {
        List<byte[]> cases = new ArrayList<>();
        cases.add(bytes("GARBAGE\r\n\r\n"));
        cases.add(bytes("POST /embed HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"));
        cases.add(bytes("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}"));
        cases.add(bytes("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}"));
        cases.add(bytes("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"));
        cases.add(bytes("POST /embed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n0\r\n\r\n"));
        cases.add(bytes("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"));
        cases.add(bytes("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n{}"));
        cases.add(bytes("POST /embed HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(64 * 1024) + "\r\n\r\n"));
        cases.add(bytes("POST /" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
        cases.add(bytes("POST /embed HTTP/1.1\r\n\r\n")); // no Host
        cases.add(bytes("POST /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        cases.add(bytes("POST /embed?%%zz=%%% HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                + "Content-Length: 2\r\n\r\n{}"));
        cases.add(concat(bytes("POST /em"), new byte[] {0, (byte) 0xff}, bytes("bed HTTP/1.1\r\nHost: x\r\n\r\n")));
        cases.add(bytes("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"inputs\": \"a\"}"));
        for (int i = 0; i < cases.size(); i++) {
            int n = i;
            // a body shorter than its Content-Length ends at the client's half-close: 400, like the rest
            check("broken HTTP case " + n + ": " + new String(cases.get(n), 0, Math.min(60, cases.get(n).length), StandardCharsets.ISO_8859_1),
                    cases.get(n), 0);
        }
    }
}
