package dev.xlmr.model;

/** The {@code hidden_act} functions of transformers' ACT2FN that XLM-R checkpoints use. */
public enum Activation {
    /** Exact GELU, x * Phi(x), with erf; transformers' "gelu". */
    GELU,
    /** The tanh approximation ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"). */
    GELU_TANH,
    RELU,
    /** x * sigmoid(x) ("silu", "swish"). */
    SILU,
    /** x * sigmoid(1.702 x). */
    QUICK_GELU;

    /** The activation of a config's {@code hidden_act}, or null when unknown. */
    static Activation of(String hiddenAct) {
        return switch (hiddenAct) {
            case "gelu" -> GELU;
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
            case "relu" -> RELU;
            case "silu", "swish" -> SILU;
            case "quick_gelu" -> QUICK_GELU;
            default -> null;
        };
    }

    /** Applies the function in double precision. */
    public double apply(double x) {
        return switch (this) {
            case GELU -> Ops.gelu(x);
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case RELU -> Math.max(0, x);
            case SILU -> x / (1 + Math.exp(-x));
            case QUICK_GELU -> x / (1 + Math.exp(-1.702 * x));
        };
    }
}
