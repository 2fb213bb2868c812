package dev.xlmr.spark;

import java.util.ArrayList;
import java.util.List;

/**
 * Words of a text for word-level embeddings, close to Spark NLP's default {@code Tokenizer}: runs of
 * letters, digits, combining marks and connector punctuation ({@code _}) are words; every other
 * non-space character (punctuation, symbols) and every CJK ideograph is a word of its own; white
 * space separates. "Hello, world!" has the words Hello , world !.
 */
final class Words {
    private Words() {}

    /** UTF-16 {@code [start, end)} spans of the words, in order. */
    static List<int[]> spans(String text) {
        List<int[]> out = new ArrayList<>();
        int runStart = -1;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int next = i + Character.charCount(cp);
            if (isWordChar(cp) && !Character.isIdeographic(cp)) {
                if (runStart < 0) {
                    runStart = i;
                }
            } else {
                if (runStart >= 0) {
                    out.add(new int[] {runStart, i});
                    runStart = -1;
                }
                if (!Character.isWhitespace(cp) && !Character.isSpaceChar(cp)) {
                    out.add(new int[] {i, next});
                }
            }
            i = next;
        }
        if (runStart >= 0) {
            out.add(new int[] {runStart, text.length()});
        }
        return out;
    }

    private static boolean isWordChar(int cp) {
        if (Character.isLetterOrDigit(cp)) {
            return true;
        }
        int type = Character.getType(cp);
        return type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK
                || type == Character.ENCLOSING_MARK || type == Character.CONNECTOR_PUNCTUATION;
    }
}
