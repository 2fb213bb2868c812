package dev.xlmr.nova;

import java.io.IOException;

/**
 * A client-supplied path that would leave its {@link DataRoot} (or is not a usable path at all). A
 * server maps it to a 4xx answer.
 *
 * <pre>{@code
 * try { Path p = root.resolve(uri); }
 * catch (PathEscapeException e) { respond(400, e.getMessage()); }
 * }</pre>
 */
public class PathEscapeException extends IOException {
    private static final long serialVersionUID = 1L;

    /** @param message says which uri was rejected and why */
    public PathEscapeException(String message) {
        super(message);
    }
}
