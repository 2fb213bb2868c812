package dev.xlmr.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.text.BreakIterator;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The {@code tokenizer.json} form, behaving like Hugging Face tokenizers for the components that
 * XLM-R-family repos use: added tokens, normalizers, pre-tokenizers, the Unigram model, template
 * post-processing and the Metaspace decoder. Any other component type is refused by name.
 */
final class JsonBackend implements Backend {
    /** XLM-R's is 17 MB; the tree of a much larger file could take more heap than the machine has. */
    private static final long MAX_FILE = 256L << 20;
    private static final int MAX_GRAPHEME_BYTES = 6;

    /** A tokenizer.json added token. */
    record Added(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip, boolean normalized,
                 boolean special) {}

    /** A normalizer step on a normalized text. */
    interface Norm {
        void apply(NormalizedText t);
    }

    /** A pre-tokenizer step: splits one piece into several (HF's PreTokenizedString.split). */
    interface PreTok {
        void split(NormalizedText t, boolean atTextStart, List<NormalizedText> out);
    }

    private final String name;
    private final String[] vocab;
    private final Map<String, Integer> ids = new HashMap<>();
    private final Unigram unigram;
    private final int unkId;
    private final List<Added> added;
    private final Map<Integer, Added> addedById = new HashMap<>();
    private final List<Norm> normalizers;
    private final List<PreTok> preTokenizers;
    private final Template template;
    private final int decoderReplacement;
    private final boolean decoderStripsFirst;
    private final int padId;
    private final String padToken;
    /** Added tokens matched on the raw text (normalized: false), in file order. */
    private final Added[] rawAdded;
    /** {@link #rawAdded} by their UTF-16 chars (values: indexes into it). */
    private final TokenTrie rawTrie = new TokenTrie();
    /** Added tokens matched on the normalized text (normalized: true), in file order. */
    private final Added[] normAdded;
    /** {@link #normAdded} by their code points (values: indexes into it). */
    private final TokenTrie normTrie = new TokenTrie();
    /**
     * Per trie id: the token string a match of that piece has (its UTF-8 decoded, which is the piece
     * unless the piece has unpaired surrogates) and the id that string looks up in {@link #ids}, or
     * -1 for none (then the unknown id), as HF looks the surface up in its vocabulary.
     */
    private final String[] matchSurface;
    private final int[] matchId;
    private final ThreadLocal<Work> work = ThreadLocal.withInitial(Work::new);

    /** Per-thread buffers of one encode call. */
    private static final class Work {
        final Unigram.Scratch sc = new Unigram.Scratch();
        byte[] bytes = new byte[256];
        int[] cpAt = new int[257];
        List<NormalizedText> parts = new ArrayList<>();
        List<NormalizedText> next = new ArrayList<>();
        final int[] word = new int[1];

        void ensure(int cps) {
            if (bytes.length < cps * 4) {
                bytes = new byte[Math.max(cps * 4, bytes.length * 2)];
                cpAt = new int[bytes.length + 1];
            }
        }
    }

    private JsonBackend(String name, JsonNode root) {
        this.name = name;
        JsonNode model = req(root, "model");
        String modelType = model.path("type").asText("");
        if (!modelType.equals("Unigram")) {
            throw unsupported("model", modelType, "Unigram");
        }
        JsonNode vocabNode = req(model, "vocab");
        if (!vocabNode.isArray() || vocabNode.isEmpty()) {
            throw new TokenizerException(name + ": model.vocab must be a non-empty array of [piece, score]");
        }
        int n = vocabNode.size();
        List<Added> addedList = new ArrayList<>();
        int maxId = n - 1;
        for (JsonNode a : root.path("added_tokens")) {
            JsonNode idNode = req(a, "id");
            if (!idNode.isIntegralNumber() || !idNode.canConvertToInt() || !req(a, "content").isTextual()) {
                throw new TokenizerException(name + ": added token " + cut(a.toString())
                        + " needs an integer id and a string content");
            }
            Added t = new Added(idNode.intValue(), req(a, "content").asText(), a.path("single_word").asBoolean(false),
                    a.path("lstrip").asBoolean(false), a.path("rstrip").asBoolean(false),
                    a.path("normalized").asBoolean(true), a.path("special").asBoolean(false));
            if (t.id() < 0 || t.id() > n + 1_000_000) {
                throw new TokenizerException(name + ": added token id " + t.id() + " is out of range");
            }
            if (t.content().isEmpty()) {
                throw new TokenizerException(name + ": added token " + t.id() + " has empty content");
            }
            addedList.add(t);
            maxId = Math.max(maxId, t.id());
        }
        this.added = List.copyOf(addedList);
        vocab = new String[maxId + 1];
        String[] pieces = new String[n];
        double[] scores = new double[n];
        boolean[] inTrie = new boolean[n];
        double min = Double.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            JsonNode e = vocabNode.get(i);
            if (!e.isArray() || e.size() != 2 || !e.get(0).isTextual() || !e.get(1).isNumber()) {
                throw new TokenizerException(name + ": model.vocab[" + i + "] is not a [piece, score] pair");
            }
            pieces[i] = e.get(0).asText();
            scores[i] = e.get(1).asDouble();
            inTrie[i] = true;
            min = Math.min(min, scores[i]);
            vocab[i] = pieces[i];
            ids.putIfAbsent(pieces[i], i);
        }
        for (Added a : added) {
            vocab[a.id()] = a.content();
            ids.put(a.content(), a.id());
            addedById.put(a.id(), a);
        }
        rawAdded = added.stream().filter(a -> !a.normalized()).toArray(Added[]::new);
        for (int i = 0; i < rawAdded.length; i++) {
            rawTrie.add(rawAdded[i].content().chars().toArray(), i);
        }
        normAdded = added.stream().filter(Added::normalized).toArray(Added[]::new);
        for (int i = 0; i < normAdded.length; i++) {
            normTrie.add(normAdded[i].content().codePoints().toArray(), i);
        }
        matchSurface = new String[n];
        matchId = new int[n];
        for (int i = 0; i < n; i++) {
            matchSurface[i] = new String(pieces[i].getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
            matchId[i] = ids.getOrDefault(matchSurface[i], -1);
        }
        JsonNode unk = model.path("unk_id");
        unkId = unk.isNumber() ? unk.asInt() : -1;
        if (unkId < 0 || unkId >= n) {
            throw new TokenizerException(name + ": model.unk_id " + unk + " is missing or out of range");
        }
        if (model.path("byte_fallback").asBoolean(false)) {
            throw new TokenizerException(name + ": Unigram byte_fallback is not supported");
        }
        unigram = new Unigram(pieces, scores, inTrie, unkId, min, false);

        normalizers = new ArrayList<>();
        parseNormalizer(root.path("normalizer"), normalizers);
        preTokenizers = new ArrayList<>();
        parsePreTokenizer(root.path("pre_tokenizer"), preTokenizers);
        template = parsePostProcessor(root.path("post_processor"));
        // a template id outside the vocabulary would be emitted as is and fail (or mislead) the model
        for (List<Template.Item> items : List.of(template.single(), template.pair())) {
            for (Template.Item it : items) {
                if (it.isSpecial() && (it.id() < 0 || it.id() >= vocab.length)) {
                    throw new TokenizerException(name + ": post_processor special token '" + cut(it.token()) + "' has id "
                            + it.id() + ", outside the vocabulary (0.." + (vocab.length - 1) + ")");
                }
                if (it.isSpecial() && vocab[it.id()] == null) { // between model.vocab and a higher added token id
                    throw new TokenizerException(name + ": post_processor special token '" + cut(it.token()) + "' has id "
                            + it.id() + ", which no token of the vocabulary has");
                }
            }
        }
        JsonNode dec = root.path("decoder");
        if (dec.isMissingNode() || dec.isNull()) {
            decoderReplacement = -1;
            decoderStripsFirst = false;
        } else if (dec.path("type").asText("").equals("Metaspace")) {
            decoderReplacement = replacementChar(dec, "decoder");
            decoderStripsFirst = !prependScheme(dec).equals("never");
        } else {
            throw unsupported("decoder", dec.path("type").asText(""), "Metaspace");
        }
        int pad = ids.getOrDefault("<pad>", -1);
        padId = pad >= 0 ? pad : 1;
        padToken = vocab.length > padId && vocab[padId] != null ? vocab[padId] : "<pad>";
    }

    static JsonBackend load(Path file) {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE) {
                throw new TokenizerException(file + ": " + size + " bytes is too large for a tokenizer.json (at most "
                        + MAX_FILE + ")");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new TokenizerException(file + ": no such file");
        } catch (java.nio.file.AccessDeniedException e) {
            throw new TokenizerException(file + ": permission denied", e);
        } catch (IOException e) {
            throw new TokenizerException(file + ": cannot read it (" + e.getClass().getSimpleName() + ")", e);
        }
        return parse(bytes, file.toString());
    }

    /** A tokenizer.json's bytes; {@code name} names it in errors. */
    static JsonBackend parse(byte[] bytes, String name) {
        JsonNode root;
        // serde_json (HF tokenizers) refuses anything but whitespace after the value, and so do we
        ObjectMapper om = new ObjectMapper();
        try (JsonParser p = om.createParser(bytes)) {
            root = om.readTree(p);
            JsonToken after;
            try {
                after = p.nextToken();
            } catch (JsonProcessingException e) {
                after = JsonToken.NOT_AVAILABLE;
            }
            if (after != null) {
                throw new TokenizerException(name + ": not valid JSON (trailing data after the JSON value, line "
                        + p.currentLocation().getLineNr() + ")");
            }
        } catch (JsonProcessingException e) {
            throw new TokenizerException(name + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) { // a byte array source has no I/O
            throw new TokenizerException(name + ": cannot parse it (" + e.getClass().getSimpleName() + ")", e);
        }
        if (root == null || !root.isObject()) {
            throw new TokenizerException(name + ": not a tokenizer.json object");
        }
        return new JsonBackend(name, root);
    }

    private JsonNode req(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            throw new TokenizerException(name + ": missing field '" + field + "'");
        }
        return v;
    }

    /** A value for a message, cut short: a hostile file's huge string is not echoed back. */
    static String cut(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    /** A Metaspace replacement: one character, as HF's serde reads it into a Rust char. */
    private int replacementChar(JsonNode n, String where) {
        JsonNode r = n.get("replacement");
        if (r == null || r.isNull()) {
            return '\u2581';
        }
        String v = r.asText();
        if (!r.isTextual() || v.codePointCount(0, v.length()) != 1) {
            throw new TokenizerException(name + ": " + where + " Metaspace replacement must be one character, got "
                    + cut(r.toString()));
        }
        return v.codePointAt(0);
    }

    private TokenizerException unsupported(String what, String type, String supported) {
        return new TokenizerException(name + ": " + what + " type '" + type + "' is not supported (supported: "
                + supported + ")");
    }

    // ---------------------------------------------------------------- normalizers

    private void parseNormalizer(JsonNode n, List<Norm> out) {
        if (n.isMissingNode() || n.isNull()) {
            return;
        }
        String type = n.path("type").asText("");
        switch (type) {
            case "Sequence" -> {
                for (JsonNode c : n.path("normalizers")) {
                    parseNormalizer(c, out);
                }
            }
            case "Precompiled" -> {
                String b64 = n.path("precompiled_charsmap").asText("");
                if (b64.isEmpty()) {
                    return;
                }
                byte[] blob;
                try {
                    blob = Base64.getDecoder().decode(b64);
                } catch (IllegalArgumentException e) {
                    throw new TokenizerException(name + ": Precompiled precompiled_charsmap is not base64");
                }
                out.add(new Precompiled(CharsMap.parse(blob, name))::apply);
            }
            case "Replace" -> out.add(replaceNormalizer(n));
            case "NFKC" -> out.add(t -> unicodeNormalize(t, Normalizer.Form.NFKC));
            case "NFC" -> out.add(t -> unicodeNormalize(t, Normalizer.Form.NFC));
            case "NFKD" -> out.add(t -> unicodeNormalize(t, Normalizer.Form.NFKD));
            case "NFD" -> out.add(t -> unicodeNormalize(t, Normalizer.Form.NFD));
            case "Lowercase" -> out.add(JsonBackend::lowercase);
            case "Strip" -> {
                boolean left = n.path("strip_left").asBoolean(true);
                boolean right = n.path("strip_right").asBoolean(true);
                out.add(t -> strip(t, left, right));
            }
            default -> throw unsupported("normalizer", type,
                    "Sequence, Precompiled, Replace, NFKC, NFC, NFKD, NFD, Lowercase, Strip");
        }
    }

    private Norm replaceNormalizer(JsonNode n) {
        JsonNode pat = req(n, "pattern");
        int[] content = req(n, "content").asText().codePoints().toArray();
        Pattern p;
        String shown;
        if (pat.has("Regex")) {
            String regex = pat.get("Regex").asText();
            shown = cut(regex);
            try {
                p = Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw new TokenizerException(name + ": normalizer Replace regex '" + shown + "' does not compile: "
                        + e.getDescription() + " at index " + e.getIndex());
            } catch (RuntimeException | StackOverflowError e) { // parentheses nested thousands deep
                throw new TokenizerException(name + ": normalizer Replace regex '" + shown + "' cannot be compiled"
                        + " (too complex)");
            }
        } else if (pat.has("String")) {
            String lit = pat.get("String").asText();
            if (lit.isEmpty()) {
                return t -> { };
            }
            p = Pattern.compile(Pattern.quote(lit));
            shown = cut(lit);
        } else {
            throw new TokenizerException(name + ": Replace pattern must be {\"String\": ...} or {\"Regex\": ...}");
        }
        String what = name + ": normalizer Replace pattern '" + shown + "'";
        return t -> {
            String s = t.toString();
            Matcher m = p.matcher(new BudgetedText(s));
            int shift = 0;
            int lastIndex = 0; // UTF-16 index in s and its code point index, to count on from there
            int lastCp = 0;
            while (BudgetedText.find(m, what, s.length())) {
                if (m.start() == m.end()) {
                    continue;
                }
                int cs = lastCp + s.codePointCount(lastIndex, m.start());
                int ce = cs + s.codePointCount(m.start(), m.end());
                lastIndex = m.end();
                lastCp = ce;
                shift += t.replaceRange(cs + shift, ce + shift, content);
            }
        };
    }

    /** Per-cluster Unicode normalization, with changes spread as HF does for one-to-many mappings. */
    private static void unicodeNormalize(NormalizedText t, Normalizer.Form form) {
        NormalizedText.Changes ch = new NormalizedText.Changes();
        int i = 0;
        while (i < t.len) {
            int j = i + 1;
            while (j < t.len && isMark(t.cps[j])) {
                j++;
            }
            String seg = new String(t.cps, i, j - i);
            int[] out = Normalizer.normalize(seg, form).codePoints().toArray();
            ch.replace(j - i, out, out.length);
            i = j;
        }
        t.transform(ch, 0);
    }

    private static boolean isMark(int cp) {
        int type = Character.getType(cp);
        return type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK
                || type == Character.ENCLOSING_MARK;
    }

    private static void lowercase(NormalizedText t) {
        NormalizedText.Changes ch = new NormalizedText.Changes();
        for (int i = 0; i < t.len; i++) {
            int cp = t.cps[i];
            if (cp < 0x80) {
                ch.add(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp, 0);
                continue;
            }
            int[] lower = new String(Character.toChars(cp)).toLowerCase(Locale.ROOT).codePoints().toArray();
            for (int k = 0; k < lower.length; k++) {
                ch.add(lower[k], k > 0 ? 1 : 0);
            }
        }
        t.transform(ch, 0);
    }

    private static void strip(NormalizedText t, boolean left, boolean right) {
        int lead = 0;
        int trail = 0;
        if (left) {
            while (lead < t.len && Utf8.isRustWhitespace(t.cps[lead])) {
                lead++;
            }
        }
        if (right) {
            while (trail < t.len - lead && Utf8.isRustWhitespace(t.cps[t.len - 1 - trail])) {
                trail++;
            }
        }
        if (lead == 0 && trail == 0) {
            return;
        }
        NormalizedText.Changes ch = new NormalizedText.Changes();
        for (int i = lead; i < t.len - trail; i++) {
            ch.add(t.cps[i], i == t.len - trail - 1 ? -trail : 0);
        }
        t.transform(ch, lead);
    }

    /**
     * HF's Precompiled normalizer: per extended grapheme cluster (under 6 UTF-8 bytes) the first,
     * shortest charsmap match replaces the whole cluster; otherwise each char is looked up alone.
     */
    private static final class Precompiled {
        private static final int[] NONE = new int[0];
        private final CharsMap map;
        private final int[][] latin = new int[0x300][]; // cached per-char results, null = unchanged
        /**
         * The map's result for a BMP char alone, filled as chars are met (a benign race: a Mapped is
         * immutable and safely published through its final field); null = not looked up yet.
         */
        private final Mapped[] bmp = new Mapped[0x10000];

        /** A char's charsmap result: the replacement, or null for none (the char stays). */
        private record Mapped(int[] cps) {}

        private static final Mapped UNMAPPED = new Mapped(null);

        Precompiled(CharsMap map) {
            this.map = map;
            byte[] buf = new byte[8];
            for (int cp = 0; cp < latin.length; cp++) {
                int n = encode(cp, buf, 0);
                latin[cp] = lookup(buf, 0, n);
            }
        }

        private int[] lookup(byte[] b, int from, int to) {
            long m = map.prefixMatch(b, from, to, false);
            if (m < 0) {
                return null;
            }
            int start = map.replacementStart((int) m);
            int len = map.replacementLength(start);
            if (len == 0) {
                return NONE;
            }
            return new String(map.replacements(), start, len, StandardCharsets.UTF_8).codePoints().toArray();
        }

        void apply(NormalizedText t) {
            boolean simple = true;
            boolean mapped = false; // a char below U+0300 that the map changes, or a CR
            for (int i = 0; i < t.len; i++) {
                int cp = t.cps[i];
                if (cp >= latin.length) {
                    simple = false;
                    break;
                }
                mapped |= latin[cp] != null || cp == '\r';
            }
            if (simple && !mapped) {
                return; // each char maps to itself: nothing would be modified
            }
            NormalizedText.Changes ch = new NormalizedText.Changes();
            boolean modified = false;
            byte[] buf = new byte[32];
            if (simple) {
                for (int i = 0; i < t.len; i++) {
                    int cp = t.cps[i];
                    if (cp == '\r' && i + 1 < t.len && t.cps[i + 1] == '\n') {
                        modified |= grapheme(t, i, i + 2, ch, buf);
                        i++;
                        continue;
                    }
                    int[] r = latin[cp];
                    if (r == null) {
                        ch.add(cp, 0);
                    } else {
                        modified = true;
                        ch.replace(1, r, r.length);
                    }
                }
            } else {
                String s = t.toString();
                BreakIterator it = BreakIterator.getCharacterInstance(Locale.ROOT);
                it.setText(s);
                int cpIndex = 0;
                int prev = it.first();
                for (int next = it.next(); next != BreakIterator.DONE; prev = next, next = it.next()) {
                    int count = s.codePointCount(prev, next);
                    modified |= grapheme(t, cpIndex, cpIndex + count, ch, buf);
                    cpIndex += count;
                }
            }
            if (modified) {
                t.transform(ch, 0);
            }
        }

        private boolean grapheme(NormalizedText t, int from, int to, NormalizedText.Changes ch, byte[] buf) {
            if (to - from == 1 && t.cps[from] < bmp.length) {
                // one char: the cluster lookup and the per-char fallback below are the same lookup
                int cp = t.cps[from];
                Mapped m = bmp[cp];
                if (m == null) {
                    int k = encode(cp, buf, 0);
                    int[] r = lookup(buf, 0, k);
                    m = r == null ? UNMAPPED : new Mapped(r);
                    bmp[cp] = m;
                }
                if (m.cps() == null) {
                    ch.add(cp, 0);
                    return false;
                }
                ch.replace(1, m.cps(), m.cps().length);
                return true;
            }
            int n = 0;
            for (int i = from; i < to && n <= MAX_GRAPHEME_BYTES; i++) {
                if (n + 4 > buf.length) {
                    break;
                }
                n = encode(t.cps[i], buf, n);
            }
            if (n < MAX_GRAPHEME_BYTES) {
                int[] r = lookup(buf, 0, n);
                if (r != null) {
                    ch.replace(to - from, r, r.length);
                    return true;
                }
            }
            boolean modified = false;
            for (int i = from; i < to; i++) {
                int cp = t.cps[i];
                int[] r;
                if (cp < latin.length) {
                    r = latin[cp];
                } else {
                    int k = encode(cp, buf, 0);
                    r = lookup(buf, 0, k);
                }
                if (r == null) {
                    ch.add(cp, 0);
                } else {
                    modified = true;
                    ch.replace(1, r, r.length);
                }
            }
            return modified;
        }

        private static int encode(int cp, byte[] b, int k) {
            if (cp < 0x80) {
                b[k++] = (byte) cp;
            } else if (cp < 0x800) {
                b[k++] = (byte) (0xC0 | (cp >> 6));
                b[k++] = (byte) (0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                b[k++] = (byte) (0xE0 | (cp >> 12));
                b[k++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                b[k++] = (byte) (0x80 | (cp & 0x3F));
            } else {
                b[k++] = (byte) (0xF0 | (cp >> 18));
                b[k++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                b[k++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                b[k++] = (byte) (0x80 | (cp & 0x3F));
            }
            return k;
        }
    }

    // ---------------------------------------------------------------- pre-tokenizers

    private static String prependScheme(JsonNode n) {
        if (n.has("prepend_scheme")) {
            return n.get("prepend_scheme").asText("always");
        }
        return n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
    }

    private void parsePreTokenizer(JsonNode n, List<PreTok> out) {
        if (n.isMissingNode() || n.isNull()) {
            return;
        }
        String type = n.path("type").asText("");
        switch (type) {
            case "Sequence" -> {
                for (JsonNode c : n.path("pretokenizers")) {
                    parsePreTokenizer(c, out);
                }
            }
            case "Metaspace" -> {
                int rep = replacementChar(n, "pre_tokenizer");
                String scheme = prependScheme(n);
                if (!scheme.equals("always") && !scheme.equals("first") && !scheme.equals("never")) {
                    throw new TokenizerException(name + ": Metaspace prepend_scheme '" + scheme + "' is not known");
                }
                boolean split = n.path("split").asBoolean(true);
                out.add((t, atStart, res) -> metaspace(t, atStart, res, rep, scheme, split));
            }
            case "WhitespaceSplit" -> out.add(JsonBackend::whitespaceSplit);
            default -> throw unsupported("pre_tokenizer", type, "Sequence, Metaspace, WhitespaceSplit");
        }
    }

    private static void metaspace(NormalizedText t, boolean atStart, List<NormalizedText> out, int rep, String scheme,
                                  boolean split) {
        for (int i = 0; i < t.len; i++) {
            if (t.cps[i] == ' ') {
                t.cps[i] = rep;
            }
        }
        boolean prepend = switch (scheme) {
            case "always" -> true;
            case "first" -> atStart;
            default -> false;
        };
        if (prepend && t.len > 0 && t.cps[0] != rep) {
            t.prepend(rep);
        }
        if (!split) {
            if (t.len > 0) {
                out.add(t);
            }
            return;
        }
        int start = 0;
        for (int i = 1; i <= t.len; i++) {
            if (i == t.len || t.cps[i] == rep) {
                if (i > start) {
                    out.add(t.slice(start, i));
                }
                start = i;
            }
        }
    }

    private static void whitespaceSplit(NormalizedText t, boolean atStart, List<NormalizedText> out) {
        int start = -1;
        for (int i = 0; i <= t.len; i++) {
            boolean ws = i == t.len || Utf8.isRustWhitespace(t.cps[i]);
            if (ws) {
                if (start >= 0) {
                    out.add(t.slice(start, i));
                    start = -1;
                }
            } else if (start < 0) {
                start = i;
            }
        }
    }

    // ---------------------------------------------------------------- post-processor

    private Template parsePostProcessor(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) {
            return new Template(List.of(Template.Item.sequence(0, 0)),
                    List.of(Template.Item.sequence(0, 0), Template.Item.sequence(1, 0)));
        }
        String type = n.path("type").asText("");
        switch (type) {
            case "RobertaProcessing" -> {
                JsonNode sep = req(n, "sep");
                JsonNode cls = req(n, "cls");
                for (String field : List.of("sep", "cls")) {
                    JsonNode v = n.get(field);
                    if (!v.isArray() || v.size() != 2 || !v.get(0).isTextual() || !v.get(1).isIntegralNumber()
                            || !v.get(1).canConvertToInt()) {
                        throw new TokenizerException(name + ": post_processor RobertaProcessing " + field
                                + " must be [token, id], got " + cut(v.toString()));
                    }
                }
                return Template.roberta(cls.get(1).intValue(), cls.get(0).asText(), sep.get(1).intValue(),
                        sep.get(0).asText());
            }
            case "TemplateProcessing" -> {
                Map<String, int[]> specialIds = new HashMap<>();
                Map<String, String[]> specialTokens = new HashMap<>();
                var fields = n.path("special_tokens").properties();
                for (var e : fields) {
                    JsonNode v = e.getValue();
                    String where = name + ": post_processor special_tokens['" + cut(e.getKey()) + "']";
                    JsonNode idsNode = v.path("ids");
                    JsonNode toksNode = v.path("tokens");
                    if (!idsNode.isArray() || !toksNode.isArray() || idsNode.size() != toksNode.size()) {
                        throw new TokenizerException(where + " must have arrays ids and tokens of the same length");
                    }
                    int[] idsArr = new int[idsNode.size()];
                    String[] toks = new String[idsArr.length];
                    for (int i = 0; i < idsArr.length; i++) {
                        JsonNode id = idsNode.get(i);
                        if (!id.isIntegralNumber() || !id.canConvertToInt()) {
                            throw new TokenizerException(where + ".ids[" + i + "] is not an integer: " + cut(id.toString()));
                        }
                        if (!toksNode.get(i).isTextual()) {
                            throw new TokenizerException(where + ".tokens[" + i + "] is not a string");
                        }
                        idsArr[i] = id.intValue();
                        toks[i] = toksNode.get(i).asText();
                    }
                    specialIds.put(e.getKey(), idsArr);
                    specialTokens.put(e.getKey(), toks);
                }
                return new Template(templateItems(req(n, "single"), specialIds, specialTokens),
                        templateItems(req(n, "pair"), specialIds, specialTokens));
            }
            default -> throw unsupported("post_processor", type, "TemplateProcessing, RobertaProcessing");
        }
    }

    private List<Template.Item> templateItems(JsonNode arr, Map<String, int[]> specialIds,
                                              Map<String, String[]> specialTokens) {
        List<Template.Item> items = new ArrayList<>();
        for (JsonNode piece : arr) {
            if (piece.has("SpecialToken")) {
                JsonNode st = piece.get("SpecialToken");
                String id = st.path("id").asText();
                int[] sid = specialIds.get(id);
                if (sid == null) {
                    throw new TokenizerException(name + ": template special token '" + id + "' is not in special_tokens");
                }
                for (int i = 0; i < sid.length; i++) {
                    items.add(Template.Item.special(sid[i], specialTokens.get(id)[i], st.path("type_id").asInt(0)));
                }
            } else if (piece.has("Sequence")) {
                JsonNode sq = piece.get("Sequence");
                String seq = sq.path("id").asText("A");
                if (!seq.equals("A") && !seq.equals("B")) {
                    throw new TokenizerException(name + ": template Sequence id '" + cut(seq) + "' is neither A nor B");
                }
                items.add(Template.Item.sequence(seq.equals("B") ? 1 : 0, sq.path("type_id").asInt(0)));
            } else {
                throw new TokenizerException(name + ": template piece " + piece + " is neither SpecialToken nor Sequence");
            }
        }
        return List.copyOf(items);
    }

    // ---------------------------------------------------------------- encoding

    @Override
    public void tokenize(String text, Pieces out) {
        Utf8.checkSurrogates(text);
        Work w = work.get();
        int[] word = w.word;
        word[0] = 0;
        // 1. added tokens that match the raw text (normalized: false)
        int from = 0;
        int pos = 0;
        int n = text.length();
        while (pos < n && !rawTrie.isEmpty()) {
            if (!rawTrie.startsWith(text.charAt(pos))) {
                pos++;
                continue;
            }
            long m = rawTrie.longest(text, pos);
            if (m < 0) {
                pos++;
                continue;
            }
            Added best = rawAdded[(int) m];
            int start = pos;
            int stop = pos + best.content().length();
            if (best.singleWord() && !singleWordOk(text, start, stop)) {
                pos++;
                continue;
            }
            if (best.lstrip()) {
                int s = start;
                while (s > from && Utf8.isRustWhitespace(text.codePointBefore(s))) {
                    s -= Character.charCount(text.codePointBefore(s));
                }
                start = s;
            }
            if (best.rstrip()) {
                while (stop < n && Utf8.isRustWhitespace(text.codePointAt(stop))) {
                    stop += Character.charCount(text.codePointAt(stop));
                }
            }
            if (from < start) {
                normalizedSplit(text, from, start, out, w);
            }
            out.add(best.id(), text.substring(start, stop), start, stop, word[0]++);
            from = stop;
            pos = stop;
        }
        if (from < n) {
            normalizedSplit(text, from, n, out, w);
        }
    }

    private static boolean singleWordOk(String text, int start, int stop) {
        boolean startOk = start == 0 || !isWordChar(text.codePointBefore(start));
        boolean stopOk = stop == text.length() || !isWordChar(text.codePointAt(stop));
        return startOk && stopOk;
    }

    private static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp) || cp == '_';
    }

    /** Normalizes, pre-tokenizes and segments {@code text[from, to)}. */
    private void normalizedSplit(String text, int from, int to, Pieces out, Work w) {
        int[] word = w.word;
        NormalizedText t = NormalizedText.of(text, from, to);
        for (Norm nm : normalizers) {
            nm.apply(t);
        }
        // 2. added tokens that match the normalized text (normalized: true)
        int pos = normAdded.length == 0 ? t.len : 0;
        int start = 0;
        while (pos < t.len) {
            long hit = normTrie.longest(t.cps, pos, t.len);
            if (hit < 0) {
                pos++;
                continue;
            }
            Added best = normAdded[(int) hit];
            int bestLen = (int) (hit >>> 32);
            if (pos > start) {
                preTokenize(t.slice(start, pos), from, from == 0 && start == 0, out, w);
            }
            NormalizedText m = t.slice(pos, pos + bestLen);
            out.add(best.id(), m.toString(), from + minStart(m, 0, m.len), from + maxEnd(m, 0, m.len), word[0]++);
            pos += bestLen;
            start = pos;
        }
        if (start < t.len || t.len == 0) {
            preTokenize(start == 0 ? t : t.slice(start, t.len), from, from == 0 && start == 0, out, w);
        }
    }

    private void preTokenize(NormalizedText t, int base, boolean atTextStart, Pieces out, Work w) {
        List<NormalizedText> parts = w.parts;
        List<NormalizedText> next = w.next;
        parts.clear();
        parts.add(t);
        for (PreTok p : preTokenizers) {
            next.clear();
            for (int i = 0, n = parts.size(); i < n; i++) {
                NormalizedText part = parts.get(i);
                p.split(part, atTextStart && part.len > 0 && i == 0, next);
            }
            List<NormalizedText> swap = parts;
            parts = next;
            next = swap;
        }
        for (int i = 0, n = parts.size(); i < n; i++) {
            NormalizedText part = parts.get(i);
            if (part.len == 0) {
                continue;
            }
            segment(part, base, out, w.word[0]++, w);
        }
        parts.clear();
        next.clear();
    }

    /** Runs the Unigram model on one pre-token; offsets span the min/max of the tokens' alignments. */
    private void segment(NormalizedText p, int base, Pieces out, int word, Work w) {
        Unigram.Scratch sc = w.sc;
        w.ensure(p.len);
        byte[] bytes = w.bytes;
        int[] cpAt = w.cpAt;
        int k = 0;
        for (int i = 0; i < p.len; i++) {
            int before = k;
            k = Precompiled.encode(p.cps[i], bytes, k);
            for (int j = before; j < k; j++) {
                cpAt[j] = i;
            }
        }
        cpAt[k] = p.len;
        unigram.encode(bytes, 0, k, sc);
        for (int t = 0; t < sc.count; t++) {
            int cs = cpAt[sc.outStart[t]];
            int ce = cpAt[sc.outEnd[t]];
            int v = sc.outId[t];
            String surface;
            int id;
            if (v == unkId) {
                surface = new String(p.cps, cs, ce - cs);
                id = unkId;
            } else {
                // a match of piece v: its surface is the piece's UTF-8 decoded
                surface = matchSurface[v];
                id = matchId[v] < 0 ? unkId : matchId[v];
            }
            out.add(id, surface, base + minStart(p, cs, ce), base + maxEnd(p, cs, ce), word);
        }
    }

    private static int minStart(NormalizedText t, int from, int to) {
        int m = Integer.MAX_VALUE;
        for (int i = from; i < to; i++) {
            m = Math.min(m, t.alStart[i]);
        }
        return m;
    }

    private static int maxEnd(NormalizedText t, int from, int to) {
        int m = 0;
        for (int i = from; i < to; i++) {
            m = Math.max(m, t.alEnd[i]);
        }
        return m;
    }

    // ---------------------------------------------------------------- the rest of Backend

    @Override
    public Template template() {
        return template;
    }

    @Override
    public boolean slowPairTruncation() {
        return false;
    }

    @Override
    public String decode(int[] idsToDecode, boolean skipSpecialTokens) {
        StringBuilder sb = new StringBuilder();
        boolean first = true;
        for (int id : idsToDecode) {
            if (id < 0 || id >= vocab.length || vocab[id] == null) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (vocab.length - 1) + ")");
            }
            if (skipSpecialTokens && isSpecial(id)) {
                continue;
            }
            String tok = vocab[id];
            if (decoderReplacement >= 0) {
                StringBuilder t = new StringBuilder(tok.length());
                for (int i = 0; i < tok.length(); ) {
                    int cp = tok.codePointAt(i);
                    if (cp == decoderReplacement) {
                        if (!(first && decoderStripsFirst)) {
                            t.append(' ');
                        }
                    } else {
                        t.appendCodePoint(cp);
                    }
                    i += Character.charCount(cp);
                }
                tok = t.toString();
            }
            sb.append(tok);
            first = false;
        }
        return Backend.cleanUp(sb.toString());
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
        Added a = addedById.get(id);
        return a != null && a.special();
    }

    @Override
    public int padId() {
        return padId;
    }

    @Override
    public String padToken() {
        return padToken;
    }
}
