package dev.xlmr.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Golden-file parity with the references: every line of the fixtures' slow (SentencePiece +
 * transformers) and fast (HF tokenizers) outputs, singles and pairs.
 */
class FixtureParityTest {
    static XlmRobertaTokenizer slow;
    static XlmRobertaTokenizer fast;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void load() {
        Path dir = TestData.model("xlmr-base");
        slow = XlmRobertaTokenizer.load(dir, XlmRobertaTokenizer.Format.SENTENCEPIECE);
        fast = XlmRobertaTokenizer.load(dir, XlmRobertaTokenizer.Format.JSON);
    }

    static List<JsonNode> lines(String file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(TestData.root().resolve("tokenizer").resolve(file))) {
            if (!l.isBlank()) {
                out.add(JSON.readTree(l));
            }
        }
        return out;
    }

    static int[] ints(JsonNode arr) {
        int[] r = new int[arr.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = arr.get(i).asInt();
        }
        return r;
    }

    static String[] strings(JsonNode arr) {
        String[] r = new String[arr.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = arr.get(i).asText();
        }
        return r;
    }

    static String pair(JsonNode c) {
        return c.has("text_pair") ? c.get("text_pair").asText() : null;
    }

    private static void checkSlow(String file) throws IOException {
        List<JsonNode> cases = lines(file);
        List<String> failures = new ArrayList<>();
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            Encoding e = slow.encode(text, pair(c));
            if (!Arrays.equals(ints(c.get("ids")), e.ids())) {
                failures.add(text + "\n  expected " + c.get("ids") + "\n  actual   " + Arrays.toString(e.ids()));
            } else if (c.has("tokens") && !Arrays.equals(strings(c.get("tokens")), e.tokens())) {
                failures.add(text + " tokens\n  expected " + c.get("tokens") + "\n  actual   " + Arrays.toString(e.tokens()));
            }
        }
        assertEquals(List.of(), failures.subList(0, Math.min(5, failures.size())),
                failures.size() + " of " + cases.size() + " lines differ");
    }

    private static void checkFast(String file) throws IOException {
        List<JsonNode> cases = lines(file);
        List<String> failures = new ArrayList<>();
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            String p = pair(c);
            Encoding e = fast.encode(text, p);
            int[][] offsets = e.codePointOffsets(text, p);
            JsonNode exp = c.get("offsets");
            int[][] expected = new int[exp.size()][];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = ints(exp.get(i));
            }
            if (!Arrays.equals(ints(c.get("ids")), e.ids())) {
                failures.add(text + "\n  expected " + c.get("ids") + "\n  actual   " + Arrays.toString(e.ids()));
            } else if (!Arrays.deepEquals(expected, offsets)) {
                failures.add(text + " offsets\n  expected " + exp + "\n  actual   " + Arrays.deepToString(offsets));
            } else if (c.has("tokens") && !Arrays.equals(strings(c.get("tokens")), e.tokens())) {
                failures.add(text + " tokens\n  expected " + c.get("tokens") + "\n  actual   " + Arrays.toString(e.tokens()));
            }
        }
        assertEquals(List.of(), failures.subList(0, Math.min(5, failures.size())),
                failures.size() + " of " + cases.size() + " lines differ");
    }

    @Test
    void slowSingles() throws IOException {
        checkSlow("tok_public.slow.jsonl");
    }

    @Test
    void slowPairs() throws IOException {
        checkSlow("pairs_public.slow.jsonl");
    }

    @Test
    void fastSingles() throws IOException {
        checkFast("tok_public.fast.jsonl");
    }

    @Test
    void fastPairs() throws IOException {
        checkFast("pairs_public.fast.jsonl");
    }
}
