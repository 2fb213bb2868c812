package dev.xlmr.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.xlmr.model.NonFiniteOutputException;
import dev.xlmr.tokenizer.TokenizerException;
import org.junit.jupiter.api.Test;

/** Issue 17: unexpected failures answer a clean status and message, never internal text or server folders. */
class FailureAnswersTest {
    @Test
    void tokenizerBudgetIsTheInputsProblemNaNIsTheBackendsOthersAreOpaque() {
        ApiException t = XlmrServer.failure(new TokenizerException(
                "/srv/models/m/tokenizer.json: normalizer Replace pattern '((a+)+)+b' backtracks too much on a text of 41 chars"));
        assertEquals(400, t.status());
        assertEquals("the input cannot be tokenized: tokenizer.json: normalizer Replace pattern '((a+)+)+b' backtracks"
                + " too much on a text of 41 chars", t.getMessage());

        ApiException n = XlmrServer.failure(new NonFiniteOutputException(
                "the model's output 'logits' holds NaN at flat index 3; tensor 'classifier.bias' of /srv/m/model.safetensors"));
        assertEquals(500, n.status());
        assertEquals("backend", n.errorType());
        assertEquals("the model's output 'logits' holds NaN at flat index 3; tensor 'classifier.bias' of model.safetensors",
                n.getMessage());

        ApiException o = XlmrServer.failure(new IllegalStateException(new StackOverflowError()));
        assertEquals(500, o.status());
        assertEquals("internal error (StackOverflowError)", o.getMessage());
        ApiException p = XlmrServer.failure(new NullPointerException("Cannot invoke \"Object.x()\" because \"y\" is null"));
        assertEquals("internal error (NullPointerException)", p.getMessage());
        assertFalse(p.getMessage().contains("Cannot invoke"));
    }
}
