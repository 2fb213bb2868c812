package dev.xlmr.engine;

/**
 * Storage precision of packed {@link Weights}. Activations and accumulation are fp32, except on the {@code onednn}
 * kernels: there BF16 rounds the activations to bf16 (on CPUs with bf16 dot products) and INT8 quantizes each
 * row of activations to 8 bits with its own scale (7 bits on CPUs without VNNI), with int32 accumulation.
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
