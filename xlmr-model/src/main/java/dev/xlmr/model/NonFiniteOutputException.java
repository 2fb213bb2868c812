package dev.xlmr.model;

/**
 * A forward pass gave NaN or an infinity, which finite weights never do: the checkpoint is damaged.
 * The message names the output and, where the model can tell, the tensor, for example
 * {@code "the model's output 'logits' holds NaN at flat index 3; ...; tensor 'classifier.bias' of
 * model.safetensors holds NaN or infinite values"}.
 */
public class NonFiniteOutputException extends CheckpointException {
    private static final long serialVersionUID = 1L;

    public NonFiniteOutputException(String message) {
        super(message);
    }
}
