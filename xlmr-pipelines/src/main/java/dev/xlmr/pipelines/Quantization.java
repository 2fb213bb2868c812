package dev.xlmr.pipelines;

import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * Quantized embeddings with sentence-transformers' {@code quantize_embeddings} semantics.
 *
 * <ul>
 *   <li>{@code uint8}: {@code trunc((x - min) / ((max - min) / 255))}; {@code int8}: the same minus 128
 *       before truncating, all in float32 (so int8 is not always uint8 - 128). {@code min}/{@code max} are
 *       per dimension, from given ranges, else from calibration embeddings, else from the batch itself.
 *       Values outside the range (possible with calibration ranges) are clamped to the integer range,
 *       where numpy's cast is undefined.</li>
 *   <li>{@code ubinary}: bit = x &gt; 0, packed big-endian per byte (dimension 0 = 0x80 of byte 0) as
 *       numpy's packbits; {@code binary} = ubinary - 128. Each row is packed on its own, its last byte
 *       padded with zero bits (numpy packs the flattened batch; the same when dimensions % 8 == 0).</li>
 * </ul>
 *
 * <pre>{@code
 * List<float[]> e = embed.embedAll(texts, options);
 * int[][] q = Quantization.quantize(e, Quantization.Precision.INT8, null);   // ranges from the batch
 * int[][] b = Quantization.quantize(e, Quantization.Precision.UBINARY, null); // dims / 8 bytes each
 * }</pre>
 */
public final class Quantization {
    private Quantization() {}

    /** The precisions of quantize_embeddings (float32 leaves the values as they are). */
    public enum Precision {
        FLOAT32, INT8, UINT8, BINARY, UBINARY;

        /** Parses "int8", "uint8", "binary", "ubinary", "float32" (case-insensitive). */
        public static Precision parse(String name) {
            for (Precision p : values()) {
                if (p.name().equalsIgnoreCase(name.trim())) {
                    return p;
                }
            }
            throw new IllegalArgumentException("unknown precision '" + name + "' (float32, int8, uint8, binary, ubinary)");
        }

        /** Whether a value is one bit of a packed byte. */
        public boolean packed() {
            return this == BINARY || this == UBINARY;
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Per-dimension {@code [min, max]} of embeddings (the ranges quantize_embeddings derives from
     * calibration embeddings or from the batch).
     */
    public static float[][] ranges(List<float[]> embeddings) {
        if (embeddings.isEmpty()) {
            throw new IllegalArgumentException("no embeddings to take ranges from");
        }
        int d = embeddings.get(0).length;
        float[] min = new float[d];
        float[] max = new float[d];
        java.util.Arrays.fill(min, Float.POSITIVE_INFINITY);
        java.util.Arrays.fill(max, Float.NEGATIVE_INFINITY);
        for (float[] e : embeddings) {
            if (e.length != d) {
                throw new IllegalArgumentException("embeddings of sizes " + d + " and " + e.length);
            }
            for (int j = 0; j < d; j++) {
                min[j] = Math.min(min[j], e[j]);
                max[j] = Math.max(max[j], e[j]);
            }
        }
        return new float[][] {min, max};
    }

    /**
     * Quantizes a batch: {@code [n][d]} values for int8/uint8, {@code [n][ceil(d/8)]} bytes for
     * binary/ubinary (as signed or unsigned integers). {@code ranges} ({@link #ranges}) is only used by
     * int8/uint8; null takes the batch's own.
     */
    public static int[][] quantize(List<float[]> embeddings, Precision precision, float[][] ranges) {
        int n = embeddings.size();
        int[][] out = new int[n][];
        if (n == 0) {
            return out;
        }
        int d = embeddings.get(0).length;
        for (float[] e : embeddings) {
            if (e.length != d) {
                throw new IllegalArgumentException("embeddings of sizes " + d + " and " + e.length);
            }
        }
        switch (precision) {
            case FLOAT32 -> throw new IllegalArgumentException("float32 is not an integer precision");
            case INT8, UINT8 -> {
                float[][] r = ranges != null ? ranges : ranges(embeddings);
                if (r.length != 2 || r[0].length != d || r[1].length != d) {
                    throw new IllegalArgumentException("ranges must be [2][" + d + "] for embeddings of " + d + " dimensions");
                }
                float[] steps = new float[d];
                for (int j = 0; j < d; j++) {
                    steps[j] = (r[1][j] - r[0][j]) / 255f;
                }
                boolean signed = precision == Precision.INT8;
                int lo = signed ? -128 : 0;
                int hi = signed ? 127 : 255;
                for (int i = 0; i < n; i++) {
                    float[] e = embeddings.get(i);
                    int[] q = new int[d];
                    for (int j = 0; j < d; j++) {
                        float v = (e[j] - r[0][j]) / steps[j]; // float32 as numpy: 0/0 is NaN, x/0 inf
                        if (signed) {
                            v -= 128f;
                        }
                        q[j] = Float.isNaN(v) ? 0 : (int) Math.max(lo, Math.min(hi, (long) v)); // (long): trunc toward 0
                    }
                    out[i] = q;
                }
            }
            case BINARY, UBINARY -> {
                int bytes = (d + 7) / 8;
                for (int i = 0; i < n; i++) {
                    float[] e = embeddings.get(i);
                    int[] q = new int[bytes];
                    for (int j = 0; j < d; j++) {
                        if (e[j] > 0) {
                            q[j >> 3] |= 0x80 >>> (j & 7);
                        }
                    }
                    if (precision == Precision.BINARY) {
                        for (int b = 0; b < bytes; b++) {
                            q[b] -= 128;
                        }
                    }
                    out[i] = q;
                }
            }
            default -> throw new IllegalStateException();
        }
        return out;
    }

    /** The bytes of one quantized row (each value's low 8 bits) in base64, for compact transport. */
    public static String base64(int[] quantized) {
        byte[] b = new byte[quantized.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) quantized[i];
        }
        return Base64.getEncoder().encodeToString(b);
    }
}
