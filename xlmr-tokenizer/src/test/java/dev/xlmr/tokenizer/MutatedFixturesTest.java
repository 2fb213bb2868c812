package dev.xlmr.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fuzz targets' promise checked on every test run over the whole fixtures: seeded mutations
 * (byte flips, cuts, repeats, JSON punctuation) of the real sentencepiece.bpe.model and
 * tokenizer.json give a tokenizer that encodes, or a TokenizerException; never another throwable.
 */
class MutatedFixturesTest {
    /** Bytes that carry JSON structure and numbers. */
    static final String PUNCT = "0123456789-.e\"{}[],:";

    static byte[] mutate(byte[] b, Random r) {
        int at = r.nextInt(b.length);
        byte[] out = b.clone();
        switch (r.nextInt(6)) {
            case 0 -> out[at] ^= (byte) (1 << r.nextInt(8));
            case 1 -> out[at] = (byte) (r.nextBoolean() ? 0 : 0xFF);
            case 2 -> out = Arrays.copyOf(out, at);
            case 3 -> { // a slice repeated in place
                int len = 1 + r.nextInt(Math.min(64, out.length - at));
                byte[] grown = new byte[out.length + len];
                System.arraycopy(out, 0, grown, 0, at + len);
                System.arraycopy(out, at, grown, at + len, out.length - at);
                out = grown;
            }
            case 4 -> out[at] = (byte) PUNCT.charAt(r.nextInt(PUNCT.length()));
            default -> {
                for (int i = 0; i < 8; i++) {
                    out[r.nextInt(out.length)] ^= (byte) r.nextInt(256);
                }
            }
        }
        return out;
    }

    private static void exercise(Backend b) {
        XlmRobertaTokenizer t = new XlmRobertaTokenizer(b, XlmRobertaTokenizer.Format.JSON);
        Encoding e = t.encode("Hello  world, <mask> naïve 日本語!", "pair", EncodeOptions.defaults());
        t.decode(e.ids(), true);
    }

    @Test
    void mutatedSentencePieceModels() throws IOException {
        byte[] real = Files.readAllBytes(TestData.model("xlmr-base").resolve("sentencepiece.bpe.model"));
        Random r = new Random(29);
        for (int i = 0; i < 150; i++) {
            byte[] m = mutate(real, r);
            try {
                exercise(new SentencePieceBackend(SentencePieceModel.read(m, Path.of("m.model")), Path.of("m.model")));
            } catch (TokenizerException expected) {
                // the domain's own error
            }
        }
    }

    @Test
    void mutatedTokenizerJsons() throws IOException {
        byte[] real = Files.readAllBytes(TestData.model("xlmr-base").resolve("tokenizer.json"));
        // the structure is outside the 300 KB base64 charsmap: mutate there mostly
        String text = new String(real, java.nio.charset.StandardCharsets.ISO_8859_1);
        int mapStart = text.indexOf("\"precompiled_charsmap\"");
        int mapEnd = text.indexOf('"', text.indexOf('"', mapStart + 23) + 1);
        Random r = new Random(31);
        for (int i = 0; i < 80; i++) {
            byte[] m = mutate(real, r);
            if (i % 4 != 0) { // keep the charsmap whole three times in four: mutate the rest
                m = mutate(real, r);
                int tries = 0;
                while (tries++ < 20 && differsInside(real, m, mapStart, mapEnd)) {
                    m = mutate(real, r);
                }
            }
            try {
                exercise(JsonBackend.parse(m, "m.json"));
            } catch (TokenizerException expected) {
                // the domain's own error
            }
        }
    }

    private static boolean differsInside(byte[] a, byte[] b, int from, int to) {
        if (b.length < to) {
            return false;
        }
        return !Arrays.equals(a, from, to, b, from, to);
    }
}
