package dev.xlmr.tokenizer;

/** UTF-8 helpers over Java strings, with the checks the tokenizers need. */
final class Utf8 {
    private Utf8() {}

    /** Length of the UTF-8 sequence that starts with {@code lead} (1 for a stray byte, as SentencePiece does). */
    static int charLength(byte lead) {
        int b = lead & 0xFF;
        if (b < 0x80) {
            return 1;
        }
        if (b >= 0xF0 && b < 0xF8) {
            return 4;
        }
        if (b >= 0xE0) {
            return b < 0xF0 ? 3 : 1;
        }
        if (b >= 0xC0) {
            return 2;
        }
        return 1;
    }

    /** Rejects lone UTF-16 surrogates, which have no UTF-8 form and would silently become '?'. */
    static void checkSurrogates(CharSequence s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else {
                    throw new IllegalArgumentException("text has a lone UTF-16 surrogate U+"
                            + Integer.toHexString(c).toUpperCase() + " at index " + i);
                }
            }
        }
    }

    /** Rust's char::is_whitespace (Unicode White_Space), used by Hugging Face tokenizers. */
    static boolean isRustWhitespace(int c) {
        return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F
                || c == 0x205F || c == 0x3000;
    }

    /** Python's str.isspace, used by transformers' slow tokenizers around special tokens. */
    static boolean isPythonSpace(int c) {
        return isRustWhitespace(c) || (c >= 0x1C && c <= 0x1F);
    }
}
