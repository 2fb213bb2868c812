package dev.xlmr.nova;

/**
 * Encoding of an SSI/NOVA data file ({@code ftype} in the header).
 *
 * <pre>{@code
 * FreeAnnotation ann = Annotations.readFree(Path.of("a.annotation"));
 * Annotations.write(ann, Path.of("b.annotation"), FileType.BINARY);
 * }</pre>
 */
public enum FileType {
    /** Text, one record or sample per line. */
    ASCII,
    /** Packed little-endian values. */
    BINARY;

    static FileType parse(String s) {
        return switch (s == null ? "" : s.trim().toUpperCase(java.util.Locale.ROOT)) {
            case "ASCII" -> ASCII;
            case "BINARY" -> BINARY;
            default -> null;
        };
    }
}
