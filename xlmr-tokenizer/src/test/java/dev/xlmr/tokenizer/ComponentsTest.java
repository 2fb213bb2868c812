package dev.xlmr.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** The building blocks on their own: the charsmap trie, the piece trie, Viterbi, alignments. */
class ComponentsTest {

    static CharsMap realCharsMap() throws Exception {
        var root = new ObjectMapper().readTree(TestData.model("xlmr-base").resolve("tokenizer.json").toFile());
        String b64 = root.path("normalizer").path("normalizers").get(0).path("precompiled_charsmap").asText();
        return CharsMap.parse(Base64.getDecoder().decode(b64), "test");
    }

    static String replacement(CharsMap m, long match) {
        int start = m.replacementStart((int) match);
        return new String(m.replacements(), start, m.replacementLength(start), StandardCharsets.UTF_8);
    }

    @Test
    void charsMapAppliesNfkcAndWhitespaceRules() throws Exception {
        CharsMap m = realCharsMap();
        byte[] fullwidthA = "Ａ".getBytes(StandardCharsets.UTF_8);
        long hit = m.prefixMatch(fullwidthA, 0, fullwidthA.length, true);
        assertEquals(fullwidthA.length, (int) (hit >>> 32));
        assertEquals("A", replacement(m, hit));
        byte[] tab = "\t".getBytes(StandardCharsets.UTF_8);
        assertEquals(" ", replacement(m, m.prefixMatch(tab, 0, 1, true)));
        byte[] plain = "a".getBytes(StandardCharsets.UTF_8);
        assertEquals(-1, m.prefixMatch(plain, 0, 1, true));
        byte[] ligature = "ﬁ".getBytes(StandardCharsets.UTF_8);
        assertEquals("fi", replacement(m, m.prefixMatch(ligature, 0, ligature.length, false)));
    }

    @Test
    void charsMapRejectsCorruptBlobs() {
        assertThrowsNamed(() -> CharsMap.parse(new byte[2], "x"), "truncated");
        assertThrowsNamed(() -> CharsMap.parse(new byte[] {(byte) 0xFF, 0, 0, 0, 1, 2, 3, 4}, "x"), "declares a trie");
    }

    static void assertThrowsNamed(Runnable r, String fragment) {
        TokenizerException e = org.junit.jupiter.api.Assertions.assertThrows(TokenizerException.class, r::run);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    @Test
    void pieceTrieFindsEveryPrefixAndSurvivesRehash() {
        PieceTrie t = new PieceTrie(4);
        String[] keys = new String[500];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = "k" + Integer.toString(i * 7919, 36);
            t.put(keys[i].getBytes(StandardCharsets.UTF_8), i);
        }
        for (int i = 0; i < keys.length; i++) {
            int node = 0;
            for (byte b : keys[i].getBytes(StandardCharsets.UTF_8)) {
                node = t.child(node, b & 0xFF);
                assertTrue(node > 0);
            }
            assertEquals(i, t.value(node));
        }
        assertEquals(-1, t.child(0, 'z'));
    }

    static Unigram toy(boolean floatScores) {
        String[] pieces = {"<unk>", "a", "b", "ab", "▁", "▁a"};
        double[] scores = {0, -1, -1, -1.5, -2, -1.2};
        boolean[] in = {false, true, true, true, true, true};
        return new Unigram(pieces, scores, in, 0, -2, floatScores);
    }

    static int[][] run(Unigram u, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        Unigram.Scratch sc = new Unigram.Scratch();
        u.encode(b, 0, b.length, sc);
        int[][] out = new int[sc.count][];
        for (int i = 0; i < sc.count; i++) {
            out[i] = new int[] {sc.outStart[i], sc.outEnd[i], sc.outId[i]};
        }
        return out;
    }

    @Test
    void viterbiPicksTheBestPath() {
        Unigram u = toy(false);
        // "ab" (-1.5) beats "a" + "b" (-2)
        assertArrayEquals(new int[][] {{0, 2, 3}}, run(u, "ab"));
        // "▁a" + "b" (-2.2) beats "▁" + "ab" (-3.5)
        assertArrayEquals(new int[][] {{0, 4, 5}, {4, 5, 2}}, run(u, "▁ab"));
    }

    @Test
    void unknownCharactersAreFusedAndScoredBelowEverything() {
        Unigram u = toy(true);
        // x, y, é are unknown: consecutive ones fuse into one <unk> spanning their bytes
        assertArrayEquals(new int[][] {{0, 1, 1}, {1, 5, 0}, {5, 6, 2}}, run(u, "axyéb"));
        assertArrayEquals(new int[0][], run(u, ""));
    }

    @Test
    void normalizedTextTransformFollowsHfAlignments() {
        NormalizedText t = NormalizedText.of("  x", 0, 3);
        // a run of spaces replaced by one: it takes the alignment of the run's last char
        t.replaceRange(0, 2, new int[] {' '});
        assertEquals(" x", t.toString());
        assertArrayEquals(new int[] {1, 2}, new int[] {t.alStart[0], t.alEnd[0]});
        t.prepend('▁');
        assertEquals("▁ x", t.toString());
        assertEquals(1, t.alStart[0]);
        // one char expanding to two: the extra one is an insertion sharing the alignment
        NormalizedText u = NormalizedText.of("ﬁx", 0, 2);
        NormalizedText.Changes ch = new NormalizedText.Changes();
        ch.replace(1, new int[] {'f', 'i'}, 2);
        ch.add('x', 0);
        u.transform(ch, 0);
        assertEquals("fix", u.toString());
        assertArrayEquals(new int[] {0, 0, 1}, new int[] {u.alStart[0], u.alStart[1], u.alStart[2]});
        assertArrayEquals(new int[] {1, 1, 2}, new int[] {u.alEnd[0], u.alEnd[1], u.alEnd[2]});
    }
}
