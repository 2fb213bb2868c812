package dev.xlmr.tokenizer;

import java.util.Arrays;

/**
 * Hugging Face tokenizers' {@code NormalizedString} at code point granularity: the current text and,
 * for each code point, the range of the original text (UTF-16 indices, relative to the split) it came
 * from. {@link #transform} applies HF's alignment rules, so offsets match the fast tokenizer's.
 */
final class NormalizedText {
    int[] cps;
    int[] alStart;
    int[] alEnd;
    int len;

    NormalizedText(int capacity) {
        cps = new int[Math.max(4, capacity)];
        alStart = new int[cps.length];
        alEnd = new int[cps.length];
    }

    /** The text of {@code s[from, to)}, aligned to itself with offsets relative to {@code from}. */
    static NormalizedText of(String s, int from, int to) {
        NormalizedText t = new NormalizedText(to - from);
        for (int i = from; i < to; ) {
            int cp = s.codePointAt(i);
            int n = Character.charCount(cp);
            t.add(cp, i - from, i - from + n);
            i += n;
        }
        return t;
    }

    void add(int cp, int start, int end) {
        if (len == cps.length) {
            int cap = len * 2;
            cps = Arrays.copyOf(cps, cap);
            alStart = Arrays.copyOf(alStart, cap);
            alEnd = Arrays.copyOf(alEnd, cap);
        }
        cps[len] = cp;
        alStart[len] = start;
        alEnd[len] = end;
        len++;
    }

    /** A copy of code points {@code [from, to)} with their alignments. */
    NormalizedText slice(int from, int to) {
        NormalizedText t = new NormalizedText(to - from);
        System.arraycopy(cps, from, t.cps, 0, to - from);
        System.arraycopy(alStart, from, t.alStart, 0, to - from);
        System.arraycopy(alEnd, from, t.alEnd, 0, to - from);
        t.len = to - from;
        return t;
    }

    @Override
    public String toString() {
        return new String(cps, 0, len);
    }

    /** Accumulates HF's (char, change) transformation list. */
    static final class Changes {
        int[] cps = new int[16];
        int[] changes = new int[16];
        int size;

        void add(int cp, int change) {
            if (size == cps.length) {
                cps = Arrays.copyOf(cps, size * 2);
                changes = Arrays.copyOf(changes, size * 2);
            }
            cps[size] = cp;
            changes[size++] = change;
        }

        /** HF's Precompiled {@code replace}: new chars change 0, extra ones +1, or the last absorbs removals. */
        void replace(int oldCount, int[] newCps, int newCount) {
            for (int i = 0; i < newCount; i++) {
                add(newCps[i], 0);
            }
            int diff = newCount - oldCount;
            if (diff > 0) {
                for (int i = size - diff; i < size; i++) {
                    changes[i] = 1;
                }
            } else if (diff < 0 && size > 0) {
                changes[size - 1] += diff;
            }
        }
    }

    /**
     * HF's {@code transform_range} over the whole text: {@code initialOffset} code points removed at the
     * start, then each new char either replaces the next old one (change 0), also removes {@code -change}
     * more (change < 0), or is inserted (change > 0) with the alignment of the char before it.
     */
    void transform(Changes ch, int initialOffset) {
        int[] ns = new int[Math.max(4, ch.size)];
        int[] ne = new int[ns.length];
        int idx = initialOffset;
        for (int i = 0; i < ch.size; i++) {
            int c = ch.changes[i];
            if (c > 0) {
                if (idx < 1) {
                    ns[i] = 0;
                    ne[i] = 0;
                } else {
                    ns[i] = alStart[Math.min(idx, len) - 1];
                    ne[i] = alEnd[Math.min(idx, len) - 1];
                }
            } else {
                int j = Math.min(idx, len - 1);
                ns[i] = j < 0 ? 0 : alStart[j];
                ne[i] = j < 0 ? 0 : alEnd[j];
                idx += 1 - c;
            }
        }
        cps = Arrays.copyOf(ch.cps, ns.length);
        alStart = ns;
        alEnd = ne;
        len = ch.size;
    }

    /**
     * HF's {@code replace} of the matched range {@code [s, e)} by {@code content}: the match is removed
     * and the content inserted with the alignment of the match's last char. Returns the new length delta.
     */
    int replaceRange(int s, int e, int[] content) {
        int delta = content.length - (e - s);
        int as = e >= 1 ? alStart[e - 1] : 0;
        int ae = e >= 1 ? alEnd[e - 1] : 0;
        int newLen = len + delta;
        if (delta <= 0) {
            // shrinks or keeps the length: in place (the tail moves left, memmove-safe)
            for (int i = 0; i < content.length; i++) {
                cps[s + i] = content[i];
                alStart[s + i] = as;
                alEnd[s + i] = ae;
            }
            System.arraycopy(cps, e, cps, s + content.length, len - e);
            System.arraycopy(alStart, e, alStart, s + content.length, len - e);
            System.arraycopy(alEnd, e, alEnd, s + content.length, len - e);
            len = newLen;
            return delta;
        }
        int[] nc = new int[Math.max(4, newLen)];
        int[] ns = new int[nc.length];
        int[] ne = new int[nc.length];
        System.arraycopy(cps, 0, nc, 0, s);
        System.arraycopy(alStart, 0, ns, 0, s);
        System.arraycopy(alEnd, 0, ne, 0, s);
        for (int i = 0; i < content.length; i++) {
            nc[s + i] = content[i];
            ns[s + i] = as;
            ne[s + i] = ae;
        }
        System.arraycopy(cps, e, nc, s + content.length, len - e);
        System.arraycopy(alStart, e, ns, s + content.length, len - e);
        System.arraycopy(alEnd, e, ne, s + content.length, len - e);
        cps = nc;
        alStart = ns;
        alEnd = ne;
        len = newLen;
        return delta;
    }

    /** HF's {@code prepend}: the new chars and the old first char all take the first char's alignment. */
    void prepend(int cp) {
        if (len == 0) {
            return;
        }
        add(0, 0, 0);
        System.arraycopy(cps, 0, cps, 1, len - 1);
        System.arraycopy(alStart, 0, alStart, 1, len - 1);
        System.arraycopy(alEnd, 0, alEnd, 1, len - 1);
        cps[0] = cp;
        alStart[0] = alStart[1];
        alEnd[0] = alEnd[1];
    }
}
