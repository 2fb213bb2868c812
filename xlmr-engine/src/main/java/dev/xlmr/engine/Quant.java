package dev.xlmr.engine;

/** Rounding rules shared by every provider, so that reduced-precision results agree across providers. */
final class Quant {
    /** bf16 as stored in native memory: little-endian shorts, no alignment assumed. */
    static final java.lang.foreign.ValueLayout.OfShort BF16_LE =
            java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private Quant() {}

    /** fp32 -> bf16 bits, round to nearest even; NaN stays NaN. */
    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    static float fromBf16(short h) {
        return Float.intBitsToFloat(h << 16);
    }

    /** Symmetric per-row int8 scale: max|w| / 127 (0 for an all-zero row). */
    static float int8Scale(float[] row, int n) {
        float max = 0;
        for (int i = 0; i < n; i++) max = Math.max(max, Math.abs(row[i]));
        return max / 127f;
    }

    static byte toInt8(float w, float scale) {
        if (scale == 0) return 0;
        return (byte) Math.max(-127, Math.min(127, Math.round(w / scale)));
    }
}
