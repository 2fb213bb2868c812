package dev.xlmr.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Reads JSON lines from stdin and writes one JSON line per input. A line that fails (bad JSON or bad
 * input) is reported on stderr with its line number and as {@code {"error": ...}} on stdout, so the
 * outputs stay aligned with the inputs; the other lines are still processed.
 */
final class JsonLines {
    static final ObjectMapper JSON = new ObjectMapper();

    /** Handles one parsed input object and returns the output: a {@link Raw} JSON text or an object for Jackson. */
    interface Handler {
        Object handle(JsonNode input) throws Exception;
    }

    /** Output already serialized as one line of JSON. */
    record Raw(String json) {}

    private JsonLines() {}

    /** Processes every line; returns 0 when all succeeded, else 1. */
    static int process(PrintWriter out, PrintWriter err, Handler handler) {
        int failures = 0;
        int lineNo = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(Main.stdin, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                Object result;
                try {
                    JsonNode node;
                    try {
                        node = JSON.readTree(line);
                    } catch (JsonProcessingException e) {
                        throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage());
                    }
                    if (node == null || !node.isObject()) {
                        throw new IllegalArgumentException("expected a JSON object");
                    }
                    result = handler.handle(node);
                } catch (Exception e) {
                    failures++;
                    String m = e.getMessage() == null ? e.toString() : e.getMessage();
                    String msg = "line " + lineNo + ": " + m.lines().findFirst().orElse(m);
                    err.println("xlmr: " + msg);
                    result = java.util.Map.of("error", msg);
                }
                out.println(result instanceof Raw raw ? raw.json() : JSON.writeValueAsString(result));
                out.flush();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read standard input: " + e.getMessage(), e);
        }
        err.flush();
        return failures == 0 ? 0 : 1;
    }

    /** A required string field. */
    static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException("missing field \"" + field + "\"");
        }
        if (!v.isTextual()) {
            throw new IllegalArgumentException("field \"" + field + "\" must be a string");
        }
        return v.asText();
    }

    /** An optional string field, or null. */
    static String optionalText(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : text(node, field);
    }
}
