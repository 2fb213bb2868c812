package dev.xlmr.tokenizer;

/** A tokenizer file that cannot be used: missing, corrupt, or asking for an unsupported component. */
public final class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
