package dev.xlmr.model;

/**
 * What sits on top of the encoder, from the {@code architectures} entry of config.json, with the
 * outputs it gives (named as in transformers).
 */
public enum Head {
    /** {@code XLMRobertaModel}: last_hidden_state, pooler_output. */
    BASE("Model"),
    /** {@code XLMRobertaForMaskedLM}: logits over the vocabulary. */
    MASKED_LM("ForMaskedLM"),
    /** {@code XLMRobertaForCausalLM}: logits over the vocabulary, causal attention. */
    CAUSAL_LM("ForCausalLM"),
    /** {@code XLMRobertaForSequenceClassification}: logits [batch][labels]. */
    SEQUENCE_CLASSIFICATION("ForSequenceClassification"),
    /** {@code XLMRobertaForTokenClassification}: logits [batch][seq][labels]. */
    TOKEN_CLASSIFICATION("ForTokenClassification"),
    /** {@code XLMRobertaForQuestionAnswering}: start_logits, end_logits [batch][seq]. */
    QUESTION_ANSWERING("ForQuestionAnswering"),
    /** {@code XLMRobertaForMultipleChoice}: logits [batch][choices]; inputs [batch][choices][seq]. */
    MULTIPLE_CHOICE("ForMultipleChoice");

    private final String suffix;

    Head(String suffix) {
        this.suffix = suffix;
    }

    /** The transformers class name of this head for a model family prefix ("XLMRoberta", "XLMRobertaXL"). */
    public String className(String familyPrefix) {
        return familyPrefix + suffix;
    }

    /** The head of a class name of the family, or null when it is not one. */
    static Head ofClassName(String className, String familyPrefix) {
        for (Head h : values()) {
            if (h.className(familyPrefix).equals(className)) {
                return h;
            }
        }
        return null;
    }
}
