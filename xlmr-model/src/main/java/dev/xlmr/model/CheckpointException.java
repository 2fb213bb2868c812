package dev.xlmr.model;

/**
 * A checkpoint (config.json, safetensors, pytorch_model.bin) that cannot be read or does not fit
 * the model. The message names the file and the problem, for example
 * {@code "model.safetensors: tensor 'a' ends at byte 4096, past the data (1024 bytes)"}.
 */
public class CheckpointException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
