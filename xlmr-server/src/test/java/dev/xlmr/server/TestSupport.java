package dev.xlmr.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Fixtures and a small HTTP client for the server tests. */
final class TestSupport {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private TestSupport() {}

    static Path testdata(String name) {
        String p = System.getProperty("xlmr.testdata");
        Path dir = p != null ? Path.of(p) : Path.of("..", "testdata");
        if (!Files.isDirectory(dir)) throw new IllegalStateException("testdata folder not found: " + dir.toAbsolutePath());
        return dir.resolve(name);
    }

    static JsonNode expected(String model) throws IOException {
        return JSON.readTree(testdata(model).resolve("expected.json").toFile());
    }

    /**
     * The fixture's single-text cases with their sentence-transformers embeddings (the reference values), empty
     * texts left out (the OpenAI routes refuse them): appended to {@code texts} and {@code expected} in order.
     */
    static void sentenceEmbeddings(String model, List<String> texts, List<float[]> expected) throws IOException {
        for (JsonNode c : expected(model).get("cases")) {
            if (c.has("text_pairs")) continue;
            for (int i = 0; i < c.get("texts").size(); i++) {
                if (c.get("texts").get(i).asText().isEmpty()) continue;
                texts.add(c.get("texts").get(i).asText());
                expected.add(floats(c.get("sentence_embedding").get(i)));
            }
        }
    }

    /** An answer: status, headers and body. */
    record Answer(int status, String body, HttpResponse<String> raw) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }

        String header(String name) {
            return raw.headers().firstValue(name).orElse(null);
        }
    }

    static Answer send(HttpRequest r) throws IOException, InterruptedException {
        HttpResponse<String> res = HTTP.send(r, HttpResponse.BodyHandlers.ofString());
        return new Answer(res.statusCode(), res.body(), res);
    }

    static Answer get(URI base, String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET().build());
    }

    static Answer post(URI base, String path, String contentType, String body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).POST(HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) b.header("Content-Type", contentType);
        return send(b.build());
    }

    static Answer postJson(URI base, String path, Object body) throws IOException, InterruptedException {
        return post(base, path, "application/json", body instanceof String s ? s : JSON.writeValueAsString(body));
    }

    static Answer postForm(URI base, String path, Map<String, String> form) throws IOException, InterruptedException {
        String body = form.entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        return post(base, path, "application/x-www-form-urlencoded", body);
    }

    static float[] floats(JsonNode a) {
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) a.get(i).asDouble();
        return out;
    }

    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        if (expected.length != actual.length) throw new AssertionError(what + ": length " + actual.length + " != " + expected.length);
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs(expected[i] - actual[i]) > tol) {
                throw new AssertionError(what + "[" + i + "]: " + actual[i] + " != " + expected[i]);
            }
        }
    }
}
