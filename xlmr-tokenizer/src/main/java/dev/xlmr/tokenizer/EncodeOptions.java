package dev.xlmr.tokenizer;

/**
 * How to encode: special tokens, truncation and padding, with Hugging Face's names and defaults.
 *
 * <pre>{@code
 * EncodeOptions opts = EncodeOptions.defaults().maxLength(128).truncation(Truncation.LONGEST_FIRST)
 *         .truncationSide(Side.LEFT).padding(Padding.LONGEST);
 * List<Encoding> batch = tokenizer.encodeBatch(List.of("a", "longer text"), opts);
 * }</pre>
 *
 * @param addSpecialTokens add {@code <s>}/{@code </s>} around the texts
 * @param maxLength        total length limit including special tokens; 0 for none
 * @param truncation       strategy applied when {@code maxLength > 0}
 * @param stride           overlap between overflowing windows (0: overflow windows do not overlap)
 * @param returnOverflow   keep the overflowing windows in {@link Encoding#overflowing()}
 * @param padding          padding strategy
 * @param padToMultipleOf  round padded lengths up to a multiple of this; 0 for none
 * @param truncationSide   which end of a text a cut removes ({@code truncation_side}, HF's truncation
 *                         direction): {@link Side#RIGHT} keeps its first tokens, {@link Side#LEFT} its last
 */
public record EncodeOptions(boolean addSpecialTokens, int maxLength, Truncation truncation, int stride,
                            boolean returnOverflow, Padding padding, int padToMultipleOf, Side truncationSide) {

    /** Truncation strategies of Hugging Face tokenizers. */
    public enum Truncation { LONGEST_FIRST, ONLY_FIRST, ONLY_SECOND, DO_NOT_TRUNCATE }

    /** The end of a text that truncation cuts ({@code truncation_side} "right" or "left"). */
    public enum Side { RIGHT, LEFT }

    /** Padding strategies of Hugging Face tokenizers. */
    public enum Padding { NONE, LONGEST, MAX_LENGTH }

    public EncodeOptions {
        if (maxLength < 0 || stride < 0 || padToMultipleOf < 0) {
            throw new IllegalArgumentException("maxLength, stride and padToMultipleOf must be >= 0");
        }
        if (truncation == null || padding == null || truncationSide == null) {
            throw new IllegalArgumentException("truncation, padding and truncationSide must not be null");
        }
        if (padding == Padding.MAX_LENGTH && maxLength == 0) {
            throw new IllegalArgumentException("padding to max_length needs a maxLength");
        }
    }

    /** Truncation from the right, as before the side could be chosen. */
    public EncodeOptions(boolean addSpecialTokens, int maxLength, Truncation truncation, int stride,
                         boolean returnOverflow, Padding padding, int padToMultipleOf) {
        this(addSpecialTokens, maxLength, truncation, stride, returnOverflow, padding, padToMultipleOf, Side.RIGHT);
    }

    /** Special tokens on, no truncation, no padding. */
    public static EncodeOptions defaults() {
        return new EncodeOptions(true, 0, Truncation.LONGEST_FIRST, 0, false, Padding.NONE, 0, Side.RIGHT);
    }

    public EncodeOptions addSpecialTokens(boolean v) {
        return new EncodeOptions(v, maxLength, truncation, stride, returnOverflow, padding, padToMultipleOf, truncationSide);
    }

    public EncodeOptions maxLength(int v) {
        return new EncodeOptions(addSpecialTokens, v, truncation, stride, returnOverflow, padding, padToMultipleOf, truncationSide);
    }

    public EncodeOptions truncation(Truncation v) {
        return new EncodeOptions(addSpecialTokens, maxLength, v, stride, returnOverflow, padding, padToMultipleOf, truncationSide);
    }

    /** Sets the stride and turns on overflowing windows. */
    public EncodeOptions stride(int v) {
        return new EncodeOptions(addSpecialTokens, maxLength, truncation, v, true, padding, padToMultipleOf, truncationSide);
    }

    public EncodeOptions returnOverflow(boolean v) {
        return new EncodeOptions(addSpecialTokens, maxLength, truncation, stride, v, padding, padToMultipleOf, truncationSide);
    }

    public EncodeOptions padding(Padding v) {
        return new EncodeOptions(addSpecialTokens, maxLength, truncation, stride, returnOverflow, v, padToMultipleOf, truncationSide);
    }

    public EncodeOptions padToMultipleOf(int v) {
        return new EncodeOptions(addSpecialTokens, maxLength, truncation, stride, returnOverflow, padding, v, truncationSide);
    }

    public EncodeOptions truncationSide(Side v) {
        return new EncodeOptions(addSpecialTokens, maxLength, truncation, stride, returnOverflow, padding, padToMultipleOf, v);
    }

    boolean truncates() {
        return maxLength > 0 && truncation != Truncation.DO_NOT_TRUNCATE;
    }
}
