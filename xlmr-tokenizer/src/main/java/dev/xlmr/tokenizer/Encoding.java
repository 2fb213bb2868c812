package dev.xlmr.tokenizer;

import java.util.List;

/**
 * The result of encoding one text or text pair, as Hugging Face's {@code Encoding}: ids, tokens,
 * offsets into the original text, masks, word ids and any overflowing windows.
 *
 * <p>Offsets are UTF-16 indices ({@link String#substring} ranges) into the text the token came from
 * (the first or the second text of a pair, see {@link #sequenceIds()}); added special tokens have
 * {@code [0, 0)}. Use {@link #codePointOffsets} for the code point offsets that Python reports.
 *
 * <pre>{@code
 * Encoding e = tokenizer.encode("Hello world");
 * int[] ids = e.ids();                 // [0, ..., 2]
 * String first = e.tokens()[1];        // "▁Hello"
 * }</pre>
 *
 * @param ids               token ids
 * @param tokens            token strings (the piece, or for the tokenizer.json form the matched text as
 *                          Hugging Face fast tokenizers report it)
 * @param typeIds           token type ids (all 0 for XLM-R)
 * @param starts            UTF-16 start offsets
 * @param ends              UTF-16 end offsets
 * @param attentionMask     1 for real tokens, 0 for padding
 * @param specialTokensMask 1 for added special tokens and padding
 * @param wordIds           word index of each token, -1 for special tokens and padding
 * @param sequenceIds       0 or 1 for tokens of the first or second text, -1 for special tokens and padding
 * @param overflowing       further windows when truncation with overflow produced them
 */
public record Encoding(int[] ids, String[] tokens, int[] typeIds, int[] starts, int[] ends, int[] attentionMask,
                       int[] specialTokensMask, int[] wordIds, int[] sequenceIds, List<Encoding> overflowing) {

    /** Number of tokens, padding included. */
    public int length() {
        return ids.length;
    }

    /**
     * Offsets as Unicode code point indices, as Hugging Face's Python API gives them.
     *
     * @param text the first text that was encoded
     * @param pair the second text, or null
     * @return {@code [length][2]} start/end pairs
     */
    public int[][] codePointOffsets(String text, String pair) {
        int[][] out = new int[ids.length][2];
        for (int i = 0; i < ids.length; i++) {
            String src = sequenceIds[i] == 1 ? pair : text;
            if (sequenceIds[i] < 0 || src == null) {
                continue;
            }
            out[i][0] = src.codePointCount(0, starts[i]);
            out[i][1] = out[i][0] + src.codePointCount(starts[i], ends[i]);
        }
        return out;
    }
}
