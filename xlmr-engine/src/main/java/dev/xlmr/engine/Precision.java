package dev.xlmr.engine;

/**
 * Storage precision of packed {@link Weights}. Activations and accumulation are always fp32.
 *
 * <pre>{@code
 * Weights w = kernels.pack(weight, 768, 768, Precision.BF16);
 * }</pre>
 */
public enum Precision {
    /** 32-bit floats, exact. */
    FP32,
    /** bfloat16 (round to nearest even), widened to fp32 in registers; half the memory traffic of FP32. */
    BF16,
    /** int8 with one fp32 scale per output row (symmetric, max-abs / 127). */
    INT8
}
