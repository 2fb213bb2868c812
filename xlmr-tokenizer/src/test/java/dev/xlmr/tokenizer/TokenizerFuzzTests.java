package dev.xlmr.tokenizer;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;

/**
 * Coverage-guided fuzz targets for the tokenizer's file parsers and its encoder (issue 17). Their
 * promise: for any bytes, a tokenizer or a {@link TokenizerException}; for any string, an encoding or
 * an IllegalArgumentException (a lone surrogate); any other throwable is a finding. Without
 * {@code JAZZER_FUZZ} they run once over the seeds in {@code TokenizerFuzzTestsInputs/<method>/}:
 *
 * <pre>{@code
 * JAZZER_FUZZ=1 ./mvnw -pl xlmr-tokenizer test -Dtest=TokenizerFuzzTests#tokenizerJson -Djazzer.max_duration=10m
 * }</pre>
 */
class TokenizerFuzzTests {
    private static XlmRobertaTokenizer slow;
    private static XlmRobertaTokenizer fast;

    @BeforeAll
    static void load() {
        slow = XlmRobertaTokenizer.load(TestData.model("xlmr-base"), XlmRobertaTokenizer.Format.SENTENCEPIECE);
        fast = XlmRobertaTokenizer.load(TestData.model("xlmr-base"), XlmRobertaTokenizer.Format.JSON);
    }

    /** A parsed tokenizer must also encode and decode without another throwable. */
    private static void exercise(Backend b) {
        XlmRobertaTokenizer t = new XlmRobertaTokenizer(b, XlmRobertaTokenizer.Format.JSON);
        Encoding e = t.encode("Hello  world, <mask> naïve 日本語!", "pair", EncodeOptions.defaults());
        t.decode(e.ids(), true);
    }

    @FuzzTest(maxDuration = "30s")
    void sentencePiece(byte[] data) {
        try {
            exercise(new SentencePieceBackend(SentencePieceModel.read(data, Path.of("fuzz.model")), Path.of("fuzz.model")));
        } catch (TokenizerException expected) {
            // the domain's own error
        }
    }

    @FuzzTest(maxDuration = "30s")
    void tokenizerJson(byte[] data) {
        try {
            exercise(JsonBackend.parse(data, "fuzz.json"));
        } catch (TokenizerException expected) {
            // the domain's own error
        }
    }

    @FuzzTest(maxDuration = "30s")
    void encode(byte[] data) {
        // raw bytes as UTF-16 pairs too, so lone surrogates come up, besides the UTF-8 reading
        String[] texts = {new String(data, StandardCharsets.UTF_8), new String(data, StandardCharsets.UTF_16LE)};
        for (String text : texts) {
            for (XlmRobertaTokenizer t : new XlmRobertaTokenizer[] {slow, fast}) {
                try {
                    Encoding e = t.encode(text, text.length() > 4 ? text.substring(text.length() / 2) : null,
                            EncodeOptions.defaults().maxLength(16).stride(2));
                    t.decode(e.ids(), false);
                } catch (IllegalArgumentException expected) {
                    // a lone surrogate, or a pair too long for the windows: the caller's error, named
                }
            }
        }
    }
}
