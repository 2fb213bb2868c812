package dev.xlmr.server;

/**
 * A request that ends in an error answer: HTTP status, text-embeddings-inference's {@code error_type}
 * and a message for the client, sent as {@code {"error": message, "error_type": type}}.
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

    /**
     * @param status    HTTP status
     * @param errorType {@code validation}, {@code tokenizer}, {@code empty}, {@code overloaded},
     *                  {@code backend}, {@code unhealthy}, {@code not_found}, ...
     */
    public ApiException(int status, String errorType, String message) {
        this(status, errorType, message, 0);
    }

    /** An error that tells the client when to retry ({@code Retry-After}, in seconds; 0 for none). */
    public ApiException(int status, String errorType, String message, long retryAfterSeconds) {
        super(message);
        this.status = status;
        this.errorType = errorType;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public int status() {
        return status;
    }

    public String errorType() {
        return errorType;
    }

    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
