package dev.xlmr.tokenizer;

import java.util.regex.Matcher;

/**
 * A text for {@link java.util.regex.Matcher} that counts the chars the matcher reads and gives up past
 * a budget linear in the text's length. java.util.regex backtracks: a tokenizer.json regex with
 * nested repetition such as {@code (a+)+$} takes exponential time on a long line, and one such as
 * {@code (a|b)*} recurses once per char until StackOverflowError. Both become a
 * {@link TokenizerException} naming the file and the pattern, instead of a hang or a crash (HF's
 * Oniguruma has a retry limit for the same reason).
 *
 * <pre>{@code
 * Matcher m = pattern.matcher(new BudgetedText(s));
 * while (BudgetedText.find(m, what, s.length())) { ... }
 * }</pre>
 */
final class BudgetedText implements CharSequence {
    /** Char reads allowed per char of text, beyond a fixed allowance: a plain pattern reads a few. */
    static final long READS_PER_CHAR = 1_000;
    static final long FIXED_READS = 10_000_000;

    /** Thrown from {@link #charAt} to stop the matcher; no stack trace (it is control flow). */
    private static final class OverBudget extends RuntimeException {
        private static final long serialVersionUID = 1L;

        OverBudget() {
            super(null, null, false, false);
        }
    }

    private final String s;
    private long left;

    BudgetedText(String s) {
        this.s = s;
        this.left = FIXED_READS + READS_PER_CHAR * s.length();
    }

    @Override
    public char charAt(int index) {
        if (--left < 0) {
            throw new OverBudget();
        }
        return s.charAt(index);
    }

    @Override
    public int length() {
        return s.length();
    }

    @Override
    public CharSequence subSequence(int start, int end) {
        return s.subSequence(start, end);
    }

    @Override
    public String toString() {
        return s;
    }

    /** {@link Matcher#find()}, turning a blown budget or a too deep recursion into a TokenizerException. */
    static boolean find(Matcher m, String what, int length) {
        try {
            return m.find();
        } catch (OverBudget e) {
            throw new TokenizerException(what + " backtracks too much on a text of " + length
                    + " chars (nested repetition); simplify the pattern");
        } catch (StackOverflowError e) {
            throw new TokenizerException(what + " recurses too deep on a text of " + length
                    + " chars (a repeated group java.util.regex matches recursively); simplify the pattern");
        }
    }
}
