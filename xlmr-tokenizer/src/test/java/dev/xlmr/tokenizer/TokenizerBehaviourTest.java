package dev.xlmr.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.tokenizer.EncodeOptions.Padding;
import dev.xlmr.tokenizer.EncodeOptions.Truncation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Truncation, padding, pairs, decode, word ids, thread safety and bad input of both forms. */
class TokenizerBehaviourTest {
    static XlmRobertaTokenizer slow;
    static XlmRobertaTokenizer fast;

    @BeforeAll
    static void load() {
        slow = XlmRobertaTokenizer.load(TestData.model("xlmr-base"), XlmRobertaTokenizer.Format.SENTENCEPIECE);
        fast = XlmRobertaTokenizer.load(TestData.model("xlmr-base"));
    }

    static String words(int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : " ").append("word").append(i % 10);
        }
        return sb.toString();
    }

    @Test
    void autoPrefersTokenizerJson() {
        assertEquals(XlmRobertaTokenizer.Format.JSON, fast.format());
        assertEquals(8002, fast.vocabSize());
        assertEquals(8002, slow.vocabSize());
        assertEquals(8001, fast.tokenToId("<mask>"));
        assertEquals("<mask>", slow.idToToken(8001));
    }

    @Test
    void emptyTextGivesOnlySpecialTokens() {
        for (XlmRobertaTokenizer t : List.of(slow, fast)) {
            Encoding e = t.encode("");
            assertArrayEquals(new int[] {0, 2}, e.ids());
            assertArrayEquals(new int[] {1, 1}, e.specialTokensMask());
            assertArrayEquals(new int[] {-1, -1}, e.wordIds());
        }
    }

    @Test
    void loneSurrogateIsRejectedWithItsIndex() {
        for (XlmRobertaTokenizer t : List.of(slow, fast)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.encode("ab\uDC00"));
            assertTrue(e.getMessage().contains("U+DC00 at index 2"), e.getMessage());
        }
        // a proper pair is fine
        assertEquals(fast.encode("😀").length(), fast.encode("\uD83D\uDE00").length());
    }

    @Test
    void singleTruncationKeepsSpecialTokensAndLength() {
        String text = words(50);
        for (XlmRobertaTokenizer t : List.of(slow, fast)) {
            Encoding full = t.encode(text);
            Encoding e = t.encode(text, null, EncodeOptions.defaults().maxLength(10));
            assertEquals(10, e.length());
            assertEquals(0, e.ids()[0]);
            assertEquals(2, e.ids()[9]);
            assertArrayEquals(Arrays.copyOfRange(full.ids(), 1, 9), Arrays.copyOfRange(e.ids(), 1, 9));
        }
    }

    @Test
    void maxLengthBelowSpecialTokensIsRefused() {
        // HF gives the 2 special tokens for max_length 1, more ids than the limit (issue 17): refused instead
        for (XlmRobertaTokenizer t : List.of(slow, fast)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> t.encode("hello world", null, EncodeOptions.defaults().maxLength(1)));
            assertEquals("max_length 1 is less than the 2 special tokens a text takes", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> t.encode("hello", "world", EncodeOptions.defaults().maxLength(3)));
            assertEquals("max_length 3 is less than the 4 special tokens a text pair takes", e.getMessage());
            assertArrayEquals(new int[] {0, 2}, t.encode("hello world", null, EncodeOptions.defaults().maxLength(2)).ids());
            assertEquals(1, t.encode("hello world", null,
                    EncodeOptions.defaults().maxLength(1).addSpecialTokens(false)).length());
        }
    }

    @Test
    void overflowWindowsStayWithinTheLimitAndKeepThePair() {
        String a = words(30);
        String b = words(12);
        for (XlmRobertaTokenizer t : List.of(slow, fast)) {
            // max_length 5 leaves one token for both texts: one of them would get windows of no tokens
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> t.encode(a, b, EncodeOptions.defaults().maxLength(5).returnOverflow(true)));
            assertTrue(e.getMessage().startsWith("max_length 5 leaves no room for the "), e.getMessage());
            Encoding enc = t.encode(a, b, EncodeOptions.defaults().maxLength(12).returnOverflow(true));
            assertTrue(enc.overflowing().size() > 1);
            for (Encoding w : enc.overflowing()) {
                assertTrue(w.length() <= 12, "window of " + w.length());
                assertTrue(count(w.sequenceIds(), 0) > 0 && count(w.sequenceIds(), 1) > 0, "both texts in every window");
            }
        }
    }

    @Test
    void pairLongestFirstDiffersBetweenForms() {
        // Equal lengths 10 + 10 into a budget of 15: HF tokenizers keep 7 + 8, transformers' slow
        // tokenizer removes one at a time from the longer (ties from the second) and keeps 8 + 7.
        String a = "a b c d e f g h i j";
        String b = "k l m n o p q r s t";
        assertEquals(12, fast.encode(a).length());
        EncodeOptions opts = EncodeOptions.defaults().maxLength(19);
        Encoding f = fast.encode(a, b, opts);
        Encoding s = slow.encode(a, b, opts);
        assertEquals(19, f.length());
        assertEquals(19, s.length());
        assertEquals(7, count(f.sequenceIds(), 0));
        assertEquals(8, count(f.sequenceIds(), 1));
        assertEquals(8, count(s.sequenceIds(), 0));
        assertEquals(7, count(s.sequenceIds(), 1));
    }

    @Test
    void onlyFirstAndOnlySecond() {
        String a = words(20);
        String b = words(5);
        Encoding e = fast.encode(a, b, EncodeOptions.defaults().maxLength(20).truncation(Truncation.ONLY_FIRST));
        assertEquals(20, e.length());
        assertEquals(fast.encode(b).length() - 2, count(e.sequenceIds(), 1));
        Encoding g = fast.encode(b, a, EncodeOptions.defaults().maxLength(20).truncation(Truncation.ONLY_SECOND));
        assertEquals(fast.encode(b).length() - 2, count(g.sequenceIds(), 0));
        assertThrows(IllegalArgumentException.class,
                () -> fast.encode(a, null, EncodeOptions.defaults().maxLength(20).truncation(Truncation.ONLY_SECOND)));
        // the second text alone is longer than the budget: only_first cannot help
        assertThrows(IllegalArgumentException.class,
                () -> fast.encode(b, a, EncodeOptions.defaults().maxLength(10).truncation(Truncation.ONLY_FIRST)));
    }

    @Test
    void strideProducesOverlappingWindowsCoveringEverything() {
        String text = words(30);
        Encoding full = fast.encode(text, null, EncodeOptions.defaults().addSpecialTokens(false));
        int n = full.length();
        Encoding e = fast.encode(text, null, EncodeOptions.defaults().maxLength(12).stride(4));
        List<Encoding> windows = new ArrayList<>();
        windows.add(e);
        windows.addAll(e.overflowing());
        // windows of 10 content tokens stepping by 6: starts 0, 6, 12, ... until the end is reached
        int expectedWindows = 1 + (int) Math.ceil((n - 10) / 6.0);
        assertEquals(expectedWindows, windows.size());
        for (int w = 0; w < windows.size(); w++) {
            int[] ids = windows.get(w).ids();
            assertEquals(0, ids[0]);
            assertEquals(2, ids[ids.length - 1]);
            int start = w * 6;
            int[] inner = Arrays.copyOfRange(ids, 1, ids.length - 1);
            assertArrayEquals(Arrays.copyOfRange(full.ids(), start, Math.min(start + 10, n)), inner);
        }
        assertThrows(IllegalArgumentException.class,
                () -> fast.encode(text, null, EncodeOptions.defaults().maxLength(6).stride(4)));
    }

    @Test
    void paddingLongestMaxLengthAndMultiple() {
        List<String> texts = List.of("a", words(7), "");
        List<Encoding> batch = fast.encodeBatch(texts, EncodeOptions.defaults().padding(Padding.LONGEST));
        int longest = fast.encode(words(7)).length();
        for (Encoding e : batch) {
            assertEquals(longest, e.length());
        }
        Encoding a = batch.get(0);
        assertEquals(1, a.ids()[longest - 1]);
        assertEquals(0, a.attentionMask()[longest - 1]);
        assertEquals(1, a.specialTokensMask()[longest - 1]);
        assertEquals(3, Arrays.stream(a.attentionMask()).sum());

        List<Encoding> m = fast.encodeBatch(texts, EncodeOptions.defaults().maxLength(32).padding(Padding.MAX_LENGTH));
        m.forEach(e -> assertEquals(32, e.length()));
        List<Encoding> k = slow.encodeBatch(texts, EncodeOptions.defaults().padding(Padding.LONGEST).padToMultipleOf(8));
        k.forEach(e -> assertEquals(8 * (int) Math.ceil(longest / 8.0), e.length()));
        assertThrows(IllegalArgumentException.class, () -> EncodeOptions.defaults().padding(Padding.MAX_LENGTH));
    }

    @Test
    void wordIdsFollowWords() {
        Encoding e = fast.encode("Hello world");
        // <s> ▁H ell o ▁wor ld </s> -> -1 0 0 0 1 1 -1 (pieces of one word share its id)
        int[] w = e.wordIds();
        assertEquals(-1, w[0]);
        assertEquals(-1, w[w.length - 1]);
        assertEquals(w[1], w[2]);
        assertTrue(w[w.length - 2] > w[1]);
    }

    @Test
    void decodeRoundTripsAndSkipsSpecials() {
        for (XlmRobertaTokenizer t : List.of(slow, fast)) {
            Encoding e = t.encode("Hello world, this is a test.");
            assertEquals("Hello world, this is a test.", t.decode(e.ids(), true));
            assertTrue(t.decode(e.ids(), false).startsWith("<s>"));
            assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {99999}, true));
        }
    }

    @Test
    void utf16OffsetsPointAtTheText() {
        String text = "😀 Straße 中文";
        Encoding e = fast.encode(text);
        int[][] cps = e.codePointOffsets(text, null);
        for (int i = 1; i < e.length() - 1; i++) {
            String piece = text.substring(e.starts()[i], e.ends()[i]);
            assertEquals(piece.codePointCount(0, piece.length()), cps[i][1] - cps[i][0]);
        }
        // the emoji is one code point but two UTF-16 units
        assertEquals(2, e.ends()[1] - e.starts()[1]);
    }

    @Test
    void oneMegabyteLineIsLinear() {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 1_000_000) {
            sb.append("Ein langer Satz mit Wörtern und 中文字符 ohne Ende ");
        }
        String big = sb.toString();
        String noSpaces = "x".repeat(1_000_000);
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (XlmRobertaTokenizer t : List.of(slow, fast)) {
                assertTrue(t.encode(big).length() > 100_000);
                assertTrue(t.encode(noSpaces).length() > 1000);
            }
        });
    }

    @Test
    void threadSafe() throws Exception {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            texts.add(words(i % 40) + " 中文 " + i);
        }
        List<int[]> expected = texts.stream().map(t -> fast.encode(t).ids()).toList();
        List<int[]> expectedSlow = texts.stream().map(t -> slow.encode(t).ids()).toList();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> fs = new ArrayList<>();
            for (int r = 0; r < 8; r++) {
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < texts.size(); i++) {
                        if (!Arrays.equals(expected.get(i), fast.encode(texts.get(i)).ids())
                                || !Arrays.equals(expectedSlow.get(i), slow.encode(texts.get(i)).ids())) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> f : fs) {
                assertTrue(f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static int count(int[] a, int v) {
        return (int) Arrays.stream(a).filter(x -> x == v).count();
    }
}
