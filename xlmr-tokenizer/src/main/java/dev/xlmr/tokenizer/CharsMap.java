package dev.xlmr.tokenizer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * SentencePiece's precompiled normalization map: a Darts-clone double-array trie over UTF-8 keys whose
 * values are offsets of NUL-terminated replacement strings in a second blob.
 *
 * <p>Layout: {@code uint32 trieBytes | trie units (uint32 LE) | replacement strings}.
 */
final class CharsMap {
    private final int[] units;
    private final byte[] replacements;
    private final String what;

    private CharsMap(int[] units, byte[] replacements, String what) {
        this.units = units;
        this.replacements = replacements;
        this.what = what;
    }

    /** Parses the blob; {@code what} names the source in errors. */
    static CharsMap parse(byte[] blob, String what) {
        if (blob.length < 4) {
            throw new TokenizerException(what + ": precompiled charsmap is truncated (" + blob.length + " bytes)");
        }
        ByteBuffer bb = ByteBuffer.wrap(blob).order(ByteOrder.LITTLE_ENDIAN);
        long trieBytes = Integer.toUnsignedLong(bb.getInt());
        if (trieBytes % 4 != 0 || trieBytes == 0 || trieBytes > blob.length - 4L) {
            throw new TokenizerException(what + ": precompiled charsmap declares a trie of " + trieBytes
                    + " bytes in a blob of " + blob.length);
        }
        int[] units = new int[(int) (trieBytes / 4)];
        bb.asIntBuffer().get(units);
        byte[] repl = new byte[blob.length - 4 - (int) trieBytes];
        System.arraycopy(blob, 4 + (int) trieBytes, repl, 0, repl.length);
        return new CharsMap(units, repl, what);
    }

    private static boolean hasLeaf(int unit) {
        return ((unit >>> 8) & 1) == 1;
    }

    private static int value(int unit) {
        return unit & 0x7FFFFFFF;
    }

    private static int label(int unit) {
        return unit & (0x80000000 | 0xFF);
    }

    private static int offset(int unit) {
        return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
    }

    /**
     * Searches keys that are prefixes of {@code key[from, to)}. Returns the longest match
     * ({@code longest}) or the first, shortest one, packed as {@code (length << 32) | valueOffset},
     * or -1 when no key matches.
     */
    long prefixMatch(byte[] key, int from, int to, boolean longest) {
        int[] u = units;
        int nodePos = offset(u[0]);
        long found = -1;
        for (int i = from; i < to; i++) {
            int c = key[i] & 0xFF;
            nodePos ^= c;
            if (nodePos < 0 || nodePos >= u.length) {
                break;
            }
            int unit = u[nodePos];
            if (label(unit) != c) {
                break;
            }
            nodePos ^= offset(unit);
            if (nodePos < 0 || nodePos >= u.length) {
                break;
            }
            if (hasLeaf(unit)) {
                found = ((long) (i - from + 1) << 32) | value(u[nodePos]);
                if (!longest) {
                    return found;
                }
            }
        }
        return found;
    }

    /** Start of the replacement string at {@code valueOffset} (validated against the blob). */
    int replacementStart(int valueOffset) {
        if (valueOffset < 0 || valueOffset > replacements.length) {
            throw new TokenizerException(what + ": precompiled charsmap: replacement offset " + valueOffset + " out of range");
        }
        return valueOffset;
    }

    /** Length of the NUL-terminated replacement string at {@code start}. */
    int replacementLength(int start) {
        int end = start;
        while (end < replacements.length && replacements[end] != 0) {
            end++;
        }
        return end - start;
    }

    byte[] replacements() {
        return replacements;
    }
}
