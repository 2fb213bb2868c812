package dev.xlmr.server;

/**
 * A request that ends in an error answer: HTTP status, text-embeddings-inference's error type and a message
 * for the client. TEI routes send it as {@code {"error": message, "error_type": "Validation"}} (the type in
 * PascalCase, as TEI serializes it); OpenAI routes as {@code {"error": {"message", "type", "param", "code"}}}.
 *
 * <pre>{@code
 * throw new ApiException(422, "validation", "input 0 has 600 tokens, more than the maximum of 512");
 * }</pre>
 */
public class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String errorType;
    private final long retryAfterSeconds;
    private final String param;

    /**
     * @param status    HTTP status
     * @param errorType {@code validation}, {@code tokenizer}, {@code empty}, {@code overloaded},
     *                  {@code backend}, {@code unhealthy}, {@code not_found}, ... (snake case; see {@link #teiType()})
     */
    public ApiException(int status, String errorType, String message) {
        this(status, errorType, message, 0, null);
    }

    /** An error that tells the client when to retry ({@code Retry-After}, in seconds; 0 for none). */
    public ApiException(int status, String errorType, String message, long retryAfterSeconds) {
        this(status, errorType, message, retryAfterSeconds, null);
    }

    /** An error about one request field ({@code param} of OpenAI's error body), or null. */
    public ApiException(int status, String errorType, String message, long retryAfterSeconds, String param) {
        super(message);
        this.status = status;
        this.errorType = errorType;
        this.retryAfterSeconds = retryAfterSeconds;
        this.param = param;
    }

    /** A 422 validation error about one field. */
    static ApiException invalid(String param, String message) {
        return new ApiException(422, "validation", message, 0, param);
    }

    public int status() {
        return status;
    }

    /** The snake-case type ({@code validation}, {@code not_found}, ...). */
    public String errorType() {
        return errorType;
    }

    /** The type as TEI's {@code error_type}: PascalCase ({@code Validation}, {@code NotFound}, ...). */
    public String teiType() {
        StringBuilder sb = new StringBuilder(errorType.length());
        boolean up = true;
        for (char c : errorType.toCharArray()) {
            if (c == '_') {
                up = true;
            } else {
                sb.append(up ? Character.toUpperCase(c) : c);
                up = false;
            }
        }
        return sb.toString();
    }

    /** OpenAI's {@code type}: the class of error as OpenAI names them. */
    public String openAiType() {
        if (status == 401) return "authentication_error";
        if (status == 429) return "rate_limit_error";
        if (status >= 500 || status == 424) return "server_error";
        return "invalid_request_error";
    }

    /** The request field the error is about, or null. */
    public String param() {
        return param;
    }

    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
