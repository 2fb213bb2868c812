package dev.xlmr.tokenizer;

import java.util.Arrays;

/** A growable list of tokens of one text (no special tokens): ids, strings, UTF-16 offsets, word ids. */
final class Pieces {
    int[] ids = new int[32];
    String[] tokens = new String[32];
    int[] starts = new int[32];
    int[] ends = new int[32];
    int[] words = new int[32];
    int size;

    void add(int id, String token, int start, int end, int word) {
        if (size == ids.length) {
            int cap = size * 2;
            ids = Arrays.copyOf(ids, cap);
            tokens = Arrays.copyOf(tokens, cap);
            starts = Arrays.copyOf(starts, cap);
            ends = Arrays.copyOf(ends, cap);
            words = Arrays.copyOf(words, cap);
        }
        ids[size] = id;
        tokens[size] = token;
        starts[size] = start;
        ends[size] = end;
        words[size] = word;
        size++;
    }

    /** A copy of tokens {@code [from, to)}. */
    Pieces slice(int from, int to) {
        Pieces p = new Pieces();
        int n = to - from;
        p.ids = Arrays.copyOfRange(ids, from, to);
        p.tokens = Arrays.copyOfRange(tokens, from, to);
        p.starts = Arrays.copyOfRange(starts, from, to);
        p.ends = Arrays.copyOfRange(ends, from, to);
        p.words = Arrays.copyOfRange(words, from, to);
        p.size = n;
        if (n == 0) {
            p.ids = new int[1];
            p.tokens = new String[1];
            p.starts = new int[1];
            p.ends = new int[1];
            p.words = new int[1];
        }
        return p;
    }
}
