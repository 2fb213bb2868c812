package dev.xlmr.tokenizer;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The {@code sentencepiece.bpe.model} form: Google SentencePiece's unigram encoder (precompiled
 * charsmap normalizer with remove_extra_whitespaces and add_dummy_prefix, whitespace escaped as
 * U+2581, Viterbi) behind transformers' slow {@code XLMRobertaTokenizer} (special tokens kept whole
 * with its whitespace stripping around them, fairseq id layout).
 */
final class SentencePieceBackend implements Backend {
    static final int BOS = 0;
    static final int PAD = 1;
    static final int EOS = 2;
    static final int UNK = 3;
    private static final byte[] SPACE_SYMBOL = {(byte) 0xE2, (byte) 0x96, (byte) 0x81};
    private static final int FAIRSEQ_OFFSET = 1;

    private final String[] vocab;          // by fairseq id
    private final Map<String, Integer> ids = new HashMap<>();
    private final int maskId;
    private final Unigram unigram;         // over SentencePiece ids
    private final int spmUnk;
    private final CharsMap charsMap;
    private final PieceTrie userDefined;   // SentencePiece keeps user-defined symbols unnormalized
    private final boolean addDummyPrefix;
    private final boolean removeExtraWhitespaces;
    private final boolean escapeWhitespaces;
    private final boolean suffix;
    private final String[] specials;
    private final Template template;

    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    SentencePieceBackend(Path file) {
        this(SentencePieceModel.read(file), file);
    }

    /** Over an already parsed model; {@code file} names it in errors. */
    SentencePieceBackend(SentencePieceModel m, Path file) {
        int n = m.pieces.size();
        if (n < 3) {
            // the fairseq layout below takes SentencePiece's first three pieces as <unk>, <s>, </s>
            throw new TokenizerException(file + ": holds " + n + (n == 1 ? " piece" : " pieces")
                    + "; an XLM-R SentencePiece model starts with <unk>, <s> and </s>, then its vocabulary");
        }
        String[] pieces = m.pieces.toArray(new String[0]);
        double[] scores = new double[n];
        boolean[] inTrie = new boolean[n];
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            int t = m.types.get(i);
            scores[i] = m.scores.get(i);
            if (t == SentencePieceModel.NORMAL) {
                min = Math.min(min, m.scores.get(i));
                max = Math.max(max, m.scores.get(i));
            }
        }
        PieceTrie user = null;
        for (int i = 0; i < n; i++) {
            int t = m.types.get(i);
            inTrie[i] = t == SentencePieceModel.NORMAL || t == SentencePieceModel.USER_DEFINED;
            if (t == SentencePieceModel.USER_DEFINED) {
                // SentencePiece's bonus so that a user-defined symbol always wins.
                scores[i] = pieces[i].getBytes(java.nio.charset.StandardCharsets.UTF_8).length * (double) max - 0.1;
                if (user == null) {
                    user = new PieceTrie(64);
                }
                user.put(pieces[i].getBytes(java.nio.charset.StandardCharsets.UTF_8), i);
            }
        }
        if (min == Float.MAX_VALUE) {
            min = 0f;
        }
        this.unigram = new Unigram(pieces, scores, inTrie, m.unkId, min, true);
        this.spmUnk = m.unkId;
        this.userDefined = user;
        this.charsMap = m.charsMap == null || m.charsMap.length == 0 ? null : CharsMap.parse(m.charsMap, file.toString());
        this.addDummyPrefix = m.addDummyPrefix;
        this.removeExtraWhitespaces = m.removeExtraWhitespaces;
        this.escapeWhitespaces = m.escapeWhitespaces;
        this.suffix = m.treatWhitespaceAsSuffix;

        // fairseq layout: <s>=0 <pad>=1 </s>=2 <unk>=3, piece i -> i+1 for i >= 3, <mask> last.
        vocab = new String[n + FAIRSEQ_OFFSET + 1];
        vocab[BOS] = "<s>";
        vocab[PAD] = "<pad>";
        vocab[EOS] = "</s>";
        vocab[UNK] = "<unk>";
        for (int i = 3; i < n; i++) {
            vocab[i + FAIRSEQ_OFFSET] = pieces[i];
        }
        maskId = n + FAIRSEQ_OFFSET;
        vocab[maskId] = "<mask>";
        for (int i = vocab.length - 1; i >= 0; i--) {
            if (vocab[i] != null) {
                ids.put(vocab[i], i);
            }
        }
        for (int i = 0; i < 4; i++) {
            ids.put(vocab[i], i);
        }
        specials = new String[] {"<s>", "<pad>", "</s>", "<unk>", "<mask>"};
        template = Template.roberta(BOS, "<s>", EOS, "</s>");
    }

    @Override
    public Template template() {
        return template;
    }

    @Override
    public boolean slowPairTruncation() {
        return true;
    }

    @Override
    public int vocabSize() {
        return vocab.length;
    }

    @Override
    public String idToToken(int id) {
        return id >= 0 && id < vocab.length ? vocab[id] : null;
    }

    @Override
    public int tokenToId(String token) {
        return ids.getOrDefault(token, -1);
    }

    @Override
    public boolean isSpecial(int id) {
        return id == BOS || id == PAD || id == EOS || id == UNK || id == maskId;
    }

    @Override
    public int padId() {
        return PAD;
    }

    @Override
    public String padToken() {
        return "<pad>";
    }

    /** Per-thread buffers: input bytes, byte-to-UTF-16 map, normalized bytes and their origins. */
    private static final class Scratch {
        byte[] in = new byte[256];
        int[] inToUtf16 = new int[257];
        byte[] norm = new byte[512];
        int[] normToOrig = new int[513];
        int normLen;
        final Unigram.Scratch viterbi = new Unigram.Scratch();
        // result of normalizePrefix
        byte[] repArr;
        int repOff;
        int repLen;
        int consumed;

        void ensureInput(int bytes) {
            if (in.length < bytes) {
                in = new byte[Math.max(bytes, in.length * 2)];
                inToUtf16 = new int[in.length + 1];
            }
        }

        void append(byte b, int orig) {
            if (normLen + 1 >= norm.length) {
                int cap = norm.length * 2;
                norm = java.util.Arrays.copyOf(norm, cap);
                normToOrig = java.util.Arrays.copyOf(normToOrig, cap + 1);
            }
            norm[normLen] = b;
            normToOrig[normLen++] = orig;
        }
    }

    @Override
    public void tokenize(String text, Pieces out) {
        Utf8.checkSurrogates(text);
        // transformers' slow tokenize(): split on special tokens, strip whitespace next to them
        // (<mask> is AddedToken(lstrip=True); the others are plain strings, stripped on both sides).
        int n = text.length();
        int[] chunkStart = new int[8];
        int[] chunkEnd = new int[8];
        int[] special = new int[8];
        int count = 0;
        int pos = 0;
        int from = 0;
        while (pos < n) {
            int match = -1;
            int matchLen = 0;
            if (text.charAt(pos) == '<') {
                for (int s = 0; s < specials.length; s++) {
                    String sp = specials[s];
                    if (sp.length() > matchLen && text.startsWith(sp, pos)) {
                        match = s;
                        matchLen = sp.length();
                    }
                }
            }
            if (match < 0) {
                pos++;
                continue;
            }
            if (count + 2 > chunkStart.length) {
                chunkStart = java.util.Arrays.copyOf(chunkStart, count * 2 + 2);
                chunkEnd = java.util.Arrays.copyOf(chunkEnd, count * 2 + 2);
                special = java.util.Arrays.copyOf(special, count * 2 + 2);
            }
            if (pos > from) {
                chunkStart[count] = from;
                chunkEnd[count] = pos;
                special[count++] = -1;
            }
            chunkStart[count] = pos;
            chunkEnd[count] = pos + matchLen;
            special[count++] = match;
            pos += matchLen;
            from = pos;
        }
        if (from < n || count == 0) {
            if (count + 1 > chunkStart.length) {
                chunkStart = java.util.Arrays.copyOf(chunkStart, count + 1);
                chunkEnd = java.util.Arrays.copyOf(chunkEnd, count + 1);
                special = java.util.Arrays.copyOf(special, count + 1);
            }
            chunkStart[count] = from;
            chunkEnd[count] = n;
            special[count++] = -1;
        }
        for (int i = 0; i < count; i++) {
            if (special[i] < 0) {
                continue;
            }
            boolean isMask = specials[special[i]].equals("<mask>");
            if (!isMask && i + 1 < count && special[i + 1] < 0) {
                while (chunkStart[i + 1] < chunkEnd[i + 1]) {
                    int cp = text.codePointAt(chunkStart[i + 1]);
                    if (!Utf8.isPythonSpace(cp)) {
                        break;
                    }
                    chunkStart[i + 1] += Character.charCount(cp);
                }
            }
            if (i > 0 && special[i - 1] < 0) {
                while (chunkEnd[i - 1] > chunkStart[i - 1]) {
                    int cp = text.codePointBefore(chunkEnd[i - 1]);
                    if (!Utf8.isPythonSpace(cp)) {
                        break;
                    }
                    chunkEnd[i - 1] -= Character.charCount(cp);
                }
            }
        }
        int[] word = {-1};
        for (int i = 0; i < count; i++) {
            if (special[i] >= 0) {
                String sp = specials[special[i]];
                out.add(ids.get(sp), sp, chunkStart[i], chunkEnd[i], ++word[0]);
            } else if (chunkStart[i] < chunkEnd[i]) {
                encodeChunk(text, chunkStart[i], chunkEnd[i], out, word);
            }
        }
    }

    private void encodeChunk(String text, int start, int end, Pieces out, int[] word) {
        Scratch sc = scratch.get();
        int len = toUtf8(text, start, end, sc);
        normalize(sc, len);
        unigram.encode(sc.norm, 0, sc.normLen, sc.viterbi);
        Unigram.Scratch v = sc.viterbi;
        for (int t = 0; t < v.count; t++) {
            int spmId = v.outId[t];
            int id = spmId == spmUnk ? UNK : spmId + FAIRSEQ_OFFSET;
            int s = start + sc.inToUtf16[sc.normToOrig[v.outStart[t]]];
            int e = start + sc.inToUtf16[sc.normToOrig[v.outEnd[t]]];
            String tok = vocab[id];
            boolean startsWord = sc.norm[v.outStart[t]] == SPACE_SYMBOL[0] && v.outEnd[t] - v.outStart[t] >= 3
                    && sc.norm[v.outStart[t] + 1] == SPACE_SYMBOL[1] && sc.norm[v.outStart[t] + 2] == SPACE_SYMBOL[2];
            if (startsWord || word[0] < 0 || t == 0) {
                word[0]++;
            }
            out.add(id, tok, s, e, word[0]);
        }
    }

    /** Encodes {@code text[start, end)} to UTF-8 into {@code sc.in}, recording each byte's UTF-16 index. */
    private static int toUtf8(String text, int start, int end, Scratch sc) {
        sc.ensureInput((end - start) * 3 + 4);
        byte[] b = sc.in;
        int[] map = sc.inToUtf16;
        int k = 0;
        for (int i = start; i < end; i++) {
            char c = text.charAt(i);
            int rel = i - start;
            if (c < 0x80) {
                map[k] = rel;
                b[k++] = (byte) c;
            } else if (c < 0x800) {
                map[k] = rel;
                map[k + 1] = rel;
                b[k++] = (byte) (0xC0 | (c >> 6));
                b[k++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isHighSurrogate(c) && i + 1 < end) {
                int cp = Character.toCodePoint(c, text.charAt(++i));
                for (int j = 0; j < 4; j++) {
                    map[k + j] = rel;
                }
                b[k++] = (byte) (0xF0 | (cp >> 18));
                b[k++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                b[k++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                b[k++] = (byte) (0x80 | (cp & 0x3F));
            } else {
                map[k] = rel;
                map[k + 1] = rel;
                map[k + 2] = rel;
                b[k++] = (byte) (0xE0 | (c >> 12));
                b[k++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                b[k++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        map[k] = end - start;
        return k;
    }

    /** SentencePiece's normalizer on {@code sc.in[0, len)} into {@code sc.norm} with byte origins. */
    private void normalize(Scratch sc, int len) {
        sc.normLen = 0;
        int pos = 0;
        int consumed = 0;
        if (removeExtraWhitespaces) {
            while (pos < len) {
                normalizePrefix(sc, pos, len);
                if (!(sc.repLen == 1 && sc.repArr[sc.repOff] == ' ')) {
                    break;
                }
                pos += sc.consumed;
                consumed += sc.consumed;
            }
        }
        if (pos >= len) {
            sc.normToOrig[0] = consumed;
            return;
        }
        if (addDummyPrefix && !suffix) {
            addSpace(sc, consumed);
        }
        boolean prevSpace = removeExtraWhitespaces;
        while (pos < len) {
            normalizePrefix(sc, pos, len);
            int k = sc.repOff;
            int end = sc.repOff + sc.repLen;
            byte[] rep = sc.repArr;
            while (prevSpace && k < end && rep[k] == ' ') {
                k++;
            }
            if (k < end) {
                for (int j = k; j < end; j++) {
                    if (escapeWhitespaces && rep[j] == ' ') {
                        addSpace(sc, consumed);
                    } else {
                        sc.append(rep[j], consumed);
                    }
                }
                prevSpace = rep[end - 1] == ' ';
            }
            consumed += sc.consumed;
            pos += sc.consumed;
            if (!removeExtraWhitespaces) {
                prevSpace = false;
            }
        }
        if (removeExtraWhitespaces) {
            if (escapeWhitespaces) {
                while (sc.normLen >= 3 && sc.norm[sc.normLen - 3] == SPACE_SYMBOL[0]
                        && sc.norm[sc.normLen - 2] == SPACE_SYMBOL[1] && sc.norm[sc.normLen - 1] == SPACE_SYMBOL[2]) {
                    sc.normLen -= 3;
                    consumed = sc.normToOrig[sc.normLen];
                }
            } else {
                while (sc.normLen >= 1 && sc.norm[sc.normLen - 1] == ' ') {
                    sc.normLen--;
                    consumed = sc.normToOrig[sc.normLen];
                }
            }
        }
        if (addDummyPrefix && suffix) {
            addSpace(sc, consumed);
        }
        if (sc.normLen + 1 > sc.normToOrig.length) {
            sc.normToOrig = java.util.Arrays.copyOf(sc.normToOrig, sc.normLen + 1);
        }
        sc.normToOrig[sc.normLen] = consumed;
    }

    private void addSpace(Scratch sc, int orig) {
        if (escapeWhitespaces) {
            sc.append(SPACE_SYMBOL[0], orig);
            sc.append(SPACE_SYMBOL[1], orig);
            sc.append(SPACE_SYMBOL[2], orig);
        } else {
            sc.append((byte) ' ', orig);
        }
    }

    private static final byte[] REPLACEMENT_CHAR = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD};

    /** SentencePiece's NormalizePrefix: the replacement for the longest match at {@code pos}. */
    private void normalizePrefix(Scratch sc, int pos, int len) {
        byte[] in = sc.in;
        if (userDefined != null) {
            int node = 0;
            int best = 0;
            for (int k = pos; k < len; k++) {
                node = userDefined.child(node, in[k] & 0xFF);
                if (node < 0) {
                    break;
                }
                if (userDefined.value(node) >= 0) {
                    best = k - pos + 1;
                }
            }
            if (best > 0) {
                sc.repArr = in;
                sc.repOff = pos;
                sc.repLen = best;
                sc.consumed = best;
                return;
            }
        }
        if (charsMap != null) {
            long m = charsMap.prefixMatch(in, pos, len, true);
            if (m >= 0) {
                int start = charsMap.replacementStart((int) m);
                sc.repArr = charsMap.replacements();
                sc.repOff = start;
                sc.repLen = charsMap.replacementLength(start);
                sc.consumed = (int) (m >>> 32);
                return;
            }
        }
        int mblen = Math.min(Utf8.charLength(in[pos]), len - pos);
        boolean valid = mblen > 1 || (in[pos] & 0x80) == 0;
        if (!valid) {
            sc.repArr = REPLACEMENT_CHAR;
            sc.repOff = 0;
            sc.repLen = 3;
            sc.consumed = 1;
            return;
        }
        sc.repArr = in;
        sc.repOff = pos;
        sc.repLen = mblen;
        sc.consumed = mblen;
    }

    @Override
    public String decode(int[] idsToDecode, boolean skipSpecialTokens) {
        StringBuilder sb = new StringBuilder();
        for (int id : idsToDecode) {
            if (id < 0 || id >= vocab.length) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (vocab.length - 1) + ")");
            }
            if (skipSpecialTokens && isSpecial(id)) {
                continue;
            }
            sb.append(vocab[id]);
        }
        String s = sb.toString().replace('\u2581', ' ');
        int a = 0;
        int b = s.length();
        while (a < b && Utf8.isPythonSpace(s.charAt(a))) {
            a++;
        }
        while (b > a && Utf8.isPythonSpace(s.charAt(b - 1))) {
            b--;
        }
        return Backend.cleanUp(s.substring(a, b));
    }
}
