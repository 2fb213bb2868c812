package dev.xlmr.tokenizer;

import java.util.Arrays;

/**
 * A byte trie of vocabulary pieces for the Viterbi search. Transitions live in one open-addressing
 * table keyed by {@code node << 8 | byte}, so a lookup is a multiply and one or two probes, and the
 * whole trie is a handful of flat arrays (no per-node objects).
 */
final class PieceTrie {
    private long[] keys;
    private int[] children;
    private int mask;
    private int size;
    private int[] values = new int[1024];
    private int nodes = 1;
    private int maxDepth;

    PieceTrie(int expectedBytes) {
        int cap = Integer.highestOneBit(Math.max(16, expectedBytes * 2) - 1) << 1;
        keys = new long[cap];
        Arrays.fill(keys, -1L);
        children = new int[cap];
        mask = cap - 1;
        Arrays.fill(values, -1);
    }

    private static int hash(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29));
    }

    /** Adds {@code key -> value}; a key seen before keeps its first value (as a map built in order would not, see caller). */
    void put(byte[] key, int value) {
        int node = 0;
        for (byte b : key) {
            node = childOrCreate(node, b & 0xFF);
        }
        if (values[node] == -1) {
            values[node] = value;
        }
        maxDepth = Math.max(maxDepth, key.length);
    }

    private int childOrCreate(int node, int b) {
        long k = ((long) node << 8) | b;
        int i = hash(k) & mask;
        while (keys[i] != -1L) {
            if (keys[i] == k) {
                return children[i];
            }
            i = (i + 1) & mask;
        }
        int child = nodes++;
        if (child >= values.length) {
            int old = values.length;
            values = Arrays.copyOf(values, old * 2);
            Arrays.fill(values, old, values.length, -1);
        }
        keys[i] = k;
        children[i] = child;
        if (++size * 2 > keys.length) {
            rehash();
        }
        return child;
    }

    private void rehash() {
        long[] oldKeys = keys;
        int[] oldChildren = children;
        keys = new long[oldKeys.length * 2];
        Arrays.fill(keys, -1L);
        children = new int[oldKeys.length * 2];
        mask = keys.length - 1;
        for (int j = 0; j < oldKeys.length; j++) {
            if (oldKeys[j] != -1L) {
                int i = hash(oldKeys[j]) & mask;
                while (keys[i] != -1L) {
                    i = (i + 1) & mask;
                }
                keys[i] = oldKeys[j];
                children[i] = oldChildren[j];
            }
        }
    }

    /** The child of {@code node} along byte {@code b}, or -1. */
    int child(int node, int b) {
        long k = ((long) node << 8) | b;
        int i = hash(k) & mask;
        long[] ks = keys;
        while (true) {
            long x = ks[i];
            if (x == k) {
                return children[i];
            }
            if (x == -1L) {
                return -1;
            }
            i = (i + 1) & mask;
        }
    }

    /** The value stored at {@code node}, or -1 when no key ends there. */
    int value(int node) {
        return values[node];
    }

    int maxDepth() {
        return maxDepth;
    }
}
