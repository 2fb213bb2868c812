package dev.xlmr.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * The unigram language model segmentation shared by both tokenizer forms: Viterbi over the UTF-8
 * bytes of a normalized string, scores from the vocabulary, an unknown character scored
 * {@code minScore - 10} (SentencePiece's kUnkPenalty), and consecutive unknown characters fused.
 *
 * <p>Runs in time linear in the input (each start position walks at most the longest piece).
 */
final class Unigram {
    static final float UNK_PENALTY = 10.0f;

    private final PieceTrie trie;
    private final double[] matchScore;
    private final int unkId;
    private final double unkScore;
    private final boolean floatPathScores;

    /**
     * @param pieces  piece strings by id
     * @param scores  score per id used when the piece matches
     * @param inTrie  which ids may be produced by matching text (SentencePiece skips control/unused)
     * @param floatPathScores store best path scores as float while comparing candidates in double, as
     *                SentencePiece's EncodeOptimized does (its candidate sum is a double); this decides
     *                exact ties the way SentencePiece does. HF tokenizers use f64 throughout (false).
     */
    Unigram(String[] pieces, double[] scores, boolean[] inTrie, int unkId, double minScore, boolean floatPathScores) {
        this.unkId = unkId;
        this.matchScore = scores;
        this.unkScore = floatPathScores ? (float) minScore - UNK_PENALTY : minScore - UNK_PENALTY;
        this.floatPathScores = floatPathScores;
        long bytes = 0;
        byte[][] utf8 = new byte[pieces.length][];
        for (int i = 0; i < pieces.length; i++) {
            if (inTrie[i] && pieces[i] != null && !pieces[i].isEmpty()) {
                utf8[i] = pieces[i].getBytes(StandardCharsets.UTF_8);
                bytes += utf8[i].length;
            }
        }
        trie = new PieceTrie((int) Math.min(bytes, 1 << 28));
        for (int i = 0; i < pieces.length; i++) {
            if (utf8[i] != null) {
                trie.put(utf8[i], i);
            }
        }
    }

    int unkId() {
        return unkId;
    }

    /** Per-thread Viterbi buffers, grown to the longest input seen. */
    static final class Scratch {
        double[] best = new double[256];
        int[] from = new int[256];
        int[] id = new int[256];
        int[] outStart = new int[256];
        int[] outEnd = new int[256];
        int[] outId = new int[256];
        int count;

        void ensure(int n) {
            if (best.length < n + 1) {
                int cap = Math.max(n + 1, best.length * 2);
                best = new double[cap];
                from = new int[cap];
                id = new int[cap];
                outStart = new int[cap];
                outEnd = new int[cap];
                outId = new int[cap];
            }
        }
    }

    /**
     * Segments {@code s[start, end)}; results (byte ranges relative to {@code s} and ids) are left in
     * {@code sc.outStart/outEnd/outId[0, count)} in text order.
     */
    void encode(byte[] s, int start, int end, Scratch sc) {
        int n = end - start;
        sc.ensure(n);
        sc.count = 0;
        if (n == 0) {
            return;
        }
        double[] best = sc.best;
        int[] from = sc.from;
        int[] ids = sc.id;
        for (int i = 0; i <= n; i++) {
            from[i] = -1;
        }
        best[0] = 0;
        for (int pos = 0; pos < n; ) {
            int mblen = Math.min(Utf8.charLength(s[start + pos]), n - pos);
            double base = best[pos];
            boolean single = false;
            int node = 0;
            for (int k = pos; k < n; k++) {
                node = trie.child(node, s[start + k] & 0xFF);
                if (node < 0) {
                    break;
                }
                int v = trie.value(node);
                if (v >= 0) {
                    int to = k + 1;
                    double cand = base + matchScore[v];
                    if (from[to] == -1 || cand > best[to]) {
                        best[to] = floatPathScores ? (float) cand : cand;
                        from[to] = pos;
                        ids[to] = v;
                    }
                    if (to - pos == mblen) {
                        single = true;
                    }
                }
            }
            if (!single) {
                int to = pos + mblen;
                // SentencePiece sums the unknown candidate in float (both operands are float there).
                double cand = floatPathScores ? (float) (base + unkScore) : base + unkScore;
                if (from[to] == -1 || cand > best[to]) {
                    best[to] = floatPathScores ? (float) cand : cand;
                    from[to] = pos;
                    ids[to] = unkId;
                }
            }
            pos += mblen;
        }
        // Back-trace into the tail of the out arrays, fusing runs of unknowns, then move to the front.
        int w = n;
        for (int at = n; at > 0; ) {
            int f = from[at];
            int id = ids[at];
            if (id == unkId && w < n && sc.outId[w] == unkId) {
                sc.outStart[w] = start + f;
            } else {
                w--;
                sc.outStart[w] = start + f;
                sc.outEnd[w] = start + at;
                sc.outId[w] = id;
            }
            at = f;
        }
        int count = n - w;
        System.arraycopy(sc.outStart, w, sc.outStart, 0, count);
        System.arraycopy(sc.outEnd, w, sc.outEnd, 0, count);
        System.arraycopy(sc.outId, w, sc.outId, 0, count);
        sc.count = count;
    }
}
