package dev.xlmr.hub;

/**
 * A hub download or cache lookup failed; the message says what to do about it.
 *
 * <pre>{@code
 * try {
 *     ModelLocator.resolve("org/private-model", "main");
 * } catch (HubException e) {
 *     if (e.status() == 401) System.err.println(e.getMessage()); // "... set HF_TOKEN ..."
 * }
 * }</pre>
 */
public final class HubException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;

    public HubException(String message) {
        this(message, -1, null);
    }

    public HubException(String message, Throwable cause) {
        this(message, -1, cause);
    }

    HubException(String message, int status, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** The HTTP status that caused it, or -1 when no HTTP response was involved. */
    public int status() {
        return status;
    }
}
