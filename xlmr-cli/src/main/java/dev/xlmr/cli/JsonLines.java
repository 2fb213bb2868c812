package dev.xlmr.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/**
 * Reads JSON lines from stdin as they arrive and writes one JSON line per input. A line that fails (bad JSON or bad
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

    /** Lines handled between flushes at most; fewer when no more input is ready. */
    static final int CHUNK = 256;

    /**
     * Processes every line as it arrives; returns 0 when all succeeded, else 1. Outputs are flushed
     * whenever no more input is ready (so answers come while the input still arrives); a closed
     * stdout ({@code | head -1}) ends it quietly with 0.
     */
    static int process(PrintWriter out, PrintWriter err, Handler handler) {
        int failures = 0;
        try (StdinLines lines = new StdinLines(Main.stdin, 2 * CHUNK)) {
            for (List<StdinLines.Line> chunk; !(chunk = lines.next(CHUNK)).isEmpty(); ) {
                for (StdinLines.Line line : chunk) {
                    if (line.text().isBlank()) {
                        continue;
                    }
                    Object result;
                    try {
                        result = handler.handle(parse(line.text()));
                    } catch (Exception e) {
                        failures++;
                        String msg = "line " + line.number() + ": " + Main.message(e);
                        err.println("xlmr: " + msg);
                        result = Map.of("error", msg);
                    }
                    out.println(result instanceof Raw raw ? raw.json() : json(result));
                }
                out.flush();
                if (out.checkError()) {
                    return 0; // stdout was closed: nobody reads the rest
                }
            }
        }
        err.flush();
        return failures == 0 ? 0 : 1;
    }

    private static JsonNode parse(String line) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        return node;
    }

    private static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
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
