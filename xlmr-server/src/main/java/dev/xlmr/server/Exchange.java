package dev.xlmr.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.MultiPart;
import org.eclipse.jetty.http.MultiPartFormData;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.FormFields;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * One HTTP request and its answer, with the body checks every route shares: content type (415), size
 * limit (413), JSON syntax (400). Exactly one {@code send...} call answers it.
 */
final class Exchange {
    static final ObjectMapper JSON = new ObjectMapper();

    private final Request request;
    private final Response response;
    private final Callback callback;
    private final long payloadLimit;
    private int status;
    private String teiMethod;

    Exchange(Request request, Response response, Callback callback, long payloadLimit) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.payloadLimit = payloadLimit;
    }

    Request request() {
        return request;
    }

    String path() {
        return Request.getPathInContext(request);
    }

    /** The status sent, 0 before. */
    int status() {
        return status;
    }

    /** TEI's {@code method} label ("single" or "batch") once an inference route has read its inputs, else null. */
    String teiMethod() {
        return teiMethod;
    }

    void teiMethod(String method) {
        teiMethod = method;
    }

    private String mediaType() {
        String ct = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
        if (ct == null) return "";
        int semi = ct.indexOf(';');
        return (semi < 0 ? ct : ct.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
    }

    /** The body as JSON; needs {@code Content-Type: application/json}. */
    JsonNode json() {
        String type = mediaType();
        if (!type.equals("application/json") && !(type.startsWith("application/") && type.endsWith("+json"))) {
            throw new ApiException(415, "validation", "expected Content-Type: application/json"
                    + (type.isEmpty() ? "" : ", got " + type));
        }
        byte[] body = body(payloadLimit);
        try {
            // one JSON value and nothing after it (serde_json, behind TEI, refuses trailing characters too)
            JsonNode node = JSON.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readTree(utf8(body));
            if (node == null || node.isMissingNode()) throw new ApiException(400, "validation", "the request body is empty");
            String bad = loneSurrogate(node);
            if (bad != null) {
                throw new ApiException(400, "validation", "malformed JSON: " + bad + " is not valid Unicode (a lone surrogate)");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "validation", "malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ApiException(400, "validation", "cannot read the request body: " + e.getMessage());
        }
    }

    /**
     * The body as text, strictly UTF-8: Jackson decodes overlong forms, CESU-8 surrogates and code points
     * above U+10FFFF without complaint, serde_json (behind TEI) refuses them, and so do we.
     */
    static String utf8(byte[] body) {
        ByteBuffer in = ByteBuffer.wrap(body);
        java.nio.CharBuffer out = java.nio.CharBuffer.allocate(body.length); // never more chars than bytes
        java.nio.charset.CharsetDecoder d = StandardCharsets.UTF_8.newDecoder();
        java.nio.charset.CoderResult r = d.decode(in, out, true);
        if (r.isError()) {
            throw new ApiException(400, "validation", "malformed JSON: the body is not valid UTF-8 at byte " + in.position());
        }
        d.flush(out);
        return out.flip().toString();
    }

    /**
     * The first string (value or field name) of a JSON tree that holds a lone UTF-16 surrogate, quoted, or
     * null: JSON allows {@code "\\ud800"} but it is no text (serde_json, behind TEI, refuses it too).
     */
    static String loneSurrogate(JsonNode node) {
        if (node.isTextual()) return loneSurrogate(node.textValue()) ? JSON.valueToTree(node.textValue()).toString() : null;
        if (node.isObject()) {
            for (var it = node.properties().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (loneSurrogate(e.getKey())) return "field name " + JSON.valueToTree(e.getKey());
                String bad = loneSurrogate(e.getValue());
                if (bad != null) return bad;
            }
        } else if (node.isArray()) {
            for (JsonNode v : node) {
                String bad = loneSurrogate(v);
                if (bad != null) return bad;
            }
        }
        return null;
    }

    static boolean loneSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    /** A request header, or null. */
    String requestHeader(String name) {
        return request.getHeaders().get(name);
    }

    /** The body, at most {@code limit} bytes (413 beyond). */
    byte[] body(long limit) {
        if (request.getLength() > limit) throw tooLarge(limit);
        try (InputStream in = Content.Source.asInputStream(request)) {
            byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
            if (b.length > limit) throw tooLarge(limit);
            return b;
        } catch (IOException e) {
            throw new ApiException(400, "validation", "cannot read the request body: " + e.getMessage());
        }
    }

    private static ApiException tooLarge(long limit) {
        return new ApiException(413, "validation", "the request body is larger than " + limit + " bytes");
    }

    /**
     * Reads what is left of the request body, at most {@code cap} bytes, so that a client still sending
     * gets the answer on a connection it can reuse; returns false when more was left (the connection is
     * then closed after the answer).
     */
    boolean drain(long cap) {
        if (request.getLength() > cap) return false;
        try (InputStream in = Content.Source.asInputStream(request)) {
            byte[] buf = new byte[1 << 16];
            for (long read = 0; read <= cap; ) {
                int n = in.read(buf);
                if (n < 0) return true;
                read += n;
            }
            return false;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Form fields of a url-encoded or multipart (non-file parts) body, or of the query string. */
    Map<String, String> form() {
        String type = mediaType();
        Map<String, String> out = new LinkedHashMap<>();
        try {
            if (type.equals("application/x-www-form-urlencoded") || type.isEmpty()) {
                if (request.getLength() > payloadLimit) throw tooLarge(payloadLimit);
                Fields fields = type.isEmpty() ? Request.extractQueryParameters(request)
                        : FormFields.getFields(request, 1000, (int) Math.min(Integer.MAX_VALUE, payloadLimit));
                for (Fields.Field f : fields) out.put(f.getName(), f.getValue());
            } else if (type.equals("multipart/form-data")) {
                try (MultiPartFormData.Parts parts = multipart(payloadLimit, null)) {
                    for (MultiPart.Part p : parts) {
                        if (p.getFileName() == null) out.put(p.getName(), p.getContentAsString(StandardCharsets.UTF_8));
                    }
                }
            } else {
                throw new ApiException(415, "validation", "expected a form (application/x-www-form-urlencoded or "
                        + "multipart/form-data), got " + type);
            }
        } catch (ApiException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ApiException(400, "validation", "malformed form: " + message(e));
        }
        return out;
    }

    /** Parses a multipart body; parts larger than memory allows go to files under {@code spool}. */
    MultiPartFormData.Parts multipart(long limit, Path spool) {
        if (!mediaType().equals("multipart/form-data")) {
            throw new ApiException(415, "validation", "expected Content-Type: multipart/form-data");
        }
        if (request.getLength() > limit) throw tooLarge(limit);
        String boundary = MultiPart.extractBoundary(request.getHeaders().get(HttpHeader.CONTENT_TYPE));
        if (boundary == null || boundary.isEmpty()) throw new ApiException(400, "validation", "multipart body without a boundary");
        MultiPartFormData.Parser parser = new MultiPartFormData.Parser(boundary);
        parser.setMaxLength(limit);
        parser.setMaxFileSize(limit);
        parser.setMaxParts(100);
        parser.setMaxMemoryFileSize(spool == null ? limit : 1 << 20);
        if (spool != null) parser.setFilesDirectory(spool);
        try {
            return parser.parse(request).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "unhealthy", "interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            String m = message(e.getCause());
            if (m.toLowerCase(Locale.ROOT).contains("exceeds") || m.toLowerCase(Locale.ROOT).contains("max")) {
                throw new ApiException(413, "validation", "upload too large: " + m);
            }
            throw new ApiException(400, "validation", "malformed multipart body: " + m);
        }
    }

    private static String message(Throwable e) {
        return e == null ? "unknown" : e.getMessage() == null ? e.toString() : e.getMessage();
    }

    void header(String name, String value) {
        response.getHeaders().put(name, value);
    }

    void sendJson(int code, Object body) {
        byte[] bytes;
        try {
            bytes = body instanceof JsonNode n ? JSON.writeValueAsBytes(n) : JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        send(code, "application/json", bytes);
    }

    void sendText(int code, String text, String contentType) {
        send(code, contentType, text.getBytes(StandardCharsets.UTF_8));
    }

    void send(int code, String contentType, byte[] bytes) {
        if (status != 0) throw new IllegalStateException("answered twice");
        status = code;
        response.setStatus(code);
        if (contentType != null) response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(new HttpField(HttpHeader.CONTENT_LENGTH, Integer.toString(bytes.length)));
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    /** Streams a file as the answer (Content-Disposition: attachment), then runs {@code afterwards} (may be null). */
    void sendFile(Path file, String contentType, String fileName, Runnable afterwards) throws IOException {
        if (status != 0) throw new IllegalStateException("answered twice");
        status = 200;
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, Long.toString(java.nio.file.Files.size(file)));
        response.getHeaders().put(HttpHeader.CONTENT_DISPOSITION,
                "attachment; filename=\"" + fileName.replaceAll("[\"\\\\\\r\\n]", "_") + "\"");
        Content.copy(Content.Source.from(file), response, afterwards == null ? callback : Callback.from(callback, afterwards));
    }

    /** Answers with TEI's error body {@code {"error", "error_type"}}, the type in PascalCase as TEI sends it. */
    void sendError(ApiException e) {
        if (e.retryAfterSeconds() > 0) header("Retry-After", Long.toString(e.retryAfterSeconds()));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", e.getMessage());
        body.put("error_type", e.teiType());
        sendJson(e.status(), body);
    }

    /**
     * Answers with OpenAI's error body {@code {"error": {"message", "type", "param", "code"}}}: {@code type} is
     * OpenAI's class of error, {@code code} TEI's error type in snake case ({@code validation}, {@code empty}, ...).
     */
    void sendOpenAiError(ApiException e) {
        if (e.retryAfterSeconds() > 0) header("Retry-After", Long.toString(e.retryAfterSeconds()));
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", e.getMessage());
        error.put("type", e.openAiType());
        error.put("param", e.param());
        error.put("code", e.errorType());
        sendJson(e.status(), Map.of("error", error));
    }
}
