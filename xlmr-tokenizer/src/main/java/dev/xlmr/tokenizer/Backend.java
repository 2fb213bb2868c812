package dev.xlmr.tokenizer;

/** One tokenizer form: turns a text into pieces and ids back into text. */
interface Backend {
    /** Appends the tokens of {@code text} (no added special tokens) to {@code out}. */
    void tokenize(String text, Pieces out);

    /** Special tokens around the texts. */
    Template template();

    /** Whether pairs truncate like transformers' slow tokenizers (one token at a time from the longer). */
    boolean slowPairTruncation();

    String decode(int[] ids, boolean skipSpecialTokens);

    int vocabSize();

    String idToToken(int id);

    /** The id of a token string, or -1. */
    int tokenToId(String token);

    boolean isSpecial(int id);

    int padId();

    String padToken();

    /** transformers' clean_up_tokenization_spaces. */
    static String cleanUp(String s) {
        return s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
                .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
                .replace(" 've", "'ve").replace(" 're", "'re");
    }
}
