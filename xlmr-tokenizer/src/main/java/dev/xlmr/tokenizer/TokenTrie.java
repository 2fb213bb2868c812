package dev.xlmr.tokenizer;

import java.util.Arrays;

/**
 * A trie of token strings over int symbols (UTF-16 chars or code points), for the longest token that
 * starts at a position: O(longest token) per position whatever the number of tokens, where a scan of
 * every added token made a line quadratic (20,000 added tokens: 35 s for a 200 KB line). Among equal
 * strings the first added wins, as in the scan. Edges live in one open-addressing table keyed by
 * (node, symbol), so the trie holds no per-node objects.
 *
 * <pre>{@code
 * TokenTrie t = new TokenTrie();
 * t.add("<mask>".chars().toArray(), 0);
 * long m = t.longest("a<mask>b", 1); // token 0, length 6: (6L << 32) | 0
 * }</pre>
 */
final class TokenTrie {
    private long[] keys = new long[64];
    private int[] children = new int[64];
    private int edges;
    private int[] token = {-1};
    private int nodes = 1;
    /** Plain copy of what was added, for {@link #longestPlain}. */
    private int[][] added = new int[8][];
    private int[] addedToken = new int[8];
    private int count;

    private static long key(int node, int symbol) {
        return ((long) node << 32) | (symbol & 0xFFFFFFFFL);
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40) & mask;
    }

    private int child(int node, int symbol) {
        long k = key(node, symbol);
        int mask = keys.length - 1;
        for (int i = slot(k, mask); ; i = (i + 1) & mask) {
            int c = children[i];
            if (c == 0) {
                return -1; // node 0 is the root, never a child: 0 marks an empty slot
            }
            if (keys[i] == k) {
                return c;
            }
        }
    }

    private void put(long k, int c) {
        int mask = keys.length - 1;
        int i = slot(k, mask);
        while (children[i] != 0) {
            i = (i + 1) & mask;
        }
        keys[i] = k;
        children[i] = c;
    }

    /** Adds a non-empty token string; an earlier token with the same string keeps it. */
    void add(int[] symbols, int tokenIndex) {
        if (count == added.length) {
            added = Arrays.copyOf(added, count * 2);
            addedToken = Arrays.copyOf(addedToken, count * 2);
        }
        addedToken[count] = tokenIndex;
        added[count++] = symbols.clone();
        int node = 0;
        for (int s : symbols) {
            int c = child(node, s);
            if (c < 0) {
                c = nodes++;
                if (c == token.length) {
                    token = Arrays.copyOf(token, c * 2);
                }
                token[c] = -1;
                if (2 * (edges + 1) > keys.length) {
                    grow();
                }
                put(key(node, s), c);
                edges++;
            }
            node = c;
        }
        if (token[node] < 0) {
            token[node] = tokenIndex;
        }
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldChildren = children;
        keys = new long[oldKeys.length * 2];
        children = new int[oldKeys.length * 2];
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldChildren[i] != 0) {
                put(oldKeys[i], oldChildren[i]);
            }
        }
    }

    boolean isEmpty() {
        return count == 0;
    }

    /** Whether some token starts with this symbol. */
    boolean startsWith(int symbol) {
        return child(0, symbol) >= 0;
    }

    /** The longest token at {@code text[pos]} by UTF-16 chars: {@code (length << 32) | token}, or -1. */
    long longest(String text, int pos) {
        long best = -1;
        int node = 0;
        for (int i = pos; i < text.length(); i++) {
            node = child(node, text.charAt(i));
            if (node < 0) {
                break;
            }
            if (token[node] >= 0) {
                best = ((long) (i + 1 - pos) << 32) | token[node];
            }
        }
        return best;
    }

    /** The longest token at {@code symbols[pos]}, looking at {@code symbols[pos, end)}; as above. */
    long longest(int[] symbols, int pos, int end) {
        long best = -1;
        int node = 0;
        for (int i = pos; i < end; i++) {
            node = child(node, symbols[i]);
            if (node < 0) {
                break;
            }
            if (token[node] >= 0) {
                best = ((long) (i + 1 - pos) << 32) | token[node];
            }
        }
        return best;
    }

    /** The plain reference of {@link #longest(int[], int, int)}: every token tried in order, longest first wins. */
    long longestPlain(int[] symbols, int pos, int end) {
        long best = -1;
        int bestLen = 0;
        for (int t = 0; t < count; t++) {
            int[] a = added[t];
            if (a.length > bestLen && a.length <= end - pos
                    && Arrays.equals(a, 0, a.length, symbols, pos, pos + a.length)) {
                bestLen = a.length;
                best = ((long) a.length << 32) | addedToken[t];
            }
        }
        return best;
    }
}
