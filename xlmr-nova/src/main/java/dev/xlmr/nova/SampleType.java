package dev.xlmr.nova;

import java.util.Locale;

/**
 * SSI sample value types ({@code <info type>}). LONG, ULONG and LDOUBLE take their width from the
 * header's {@code byte}; UNDEF, STRUCT and IMAGE are opaque bytes (binary streams only).
 *
 * <pre>{@code
 * SsiStream s = SsiStream.read(path);
 * if (s.type() == SampleType.FLOAT) { float[] v = s.toFloats(); }
 * }</pre>
 */
public enum SampleType {
    UNDEF(0), CHAR(1), UCHAR(1), SHORT(2), USHORT(2), INT(4), UINT(4), LONG(0), ULONG(0), FLOAT(4), DOUBLE(8),
    LDOUBLE(0), STRUCT(0), IMAGE(0), BOOL(1);

    private final int width;

    SampleType(int width) {
        this.width = width;
    }

    /** Fixed width in bytes, or 0 when the header's {@code byte} decides. */
    public int fixedWidth() {
        return width;
    }

    /** Whether values of this type with the given width can be read as numbers (and written as ASCII). */
    public boolean isNumeric(int byteWidth) {
        return switch (this) {
            case UNDEF, STRUCT, IMAGE -> false;
            case LONG, ULONG -> byteWidth == 4 || byteWidth == 8;
            case LDOUBLE -> byteWidth == 8; // long double is a double on the Windows compilers SSI uses
            default -> true;
        };
    }

    static SampleType parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
