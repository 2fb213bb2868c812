package dev.xlmr.nova;

/**
 * A job whose frames would need more memory than its limit; raised before anything is allocated.
 *
 * <pre>{@code
 * XlmRobertaModule.checkMemory(FramingOptions.of(40, 960), 640_000_000L, 768, 1L << 30);
 * // JobTooLargeException: 640000000 ms at 40 ms frames is 16000000 frames x 768 floats = ...
 * }</pre>
 */
public final class JobTooLargeException extends IllegalArgumentException {
    public JobTooLargeException(String message) {
        super(message);
    }
}
