package dev.xlmr.tokenizer;

import dev.xlmr.tokenizer.EncodeOptions.Padding;
import dev.xlmr.tokenizer.EncodeOptions.Truncation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The XLM-RoBERTa tokenizer, exact to Hugging Face: from {@code sentencepiece.bpe.model} it behaves
 * like transformers' slow {@code XLMRobertaTokenizer} (Google SentencePiece), from
 * {@code tokenizer.json} like the fast tokenizer (HF tokenizers). Thread-safe.
 *
 * <pre>{@code
 * XlmRobertaTokenizer tok = XlmRobertaTokenizer.load(Path.of("xlm-roberta-base"));
 * Encoding e = tok.encode("Hello world!");
 * Encoding pair = tok.encode("question?", "context", EncodeOptions.defaults().maxLength(512));
 * String text = tok.decode(e.ids(), true);
 * }</pre>
 */
public final class XlmRobertaTokenizer {

    /** Which file of a model folder to use. */
    public enum Format {
        /** tokenizer.json when present, else sentencepiece.bpe.model (like AutoTokenizer). */
        AUTO,
        /** sentencepiece.bpe.model with the slow tokenizer's behaviour. */
        SENTENCEPIECE,
        /** tokenizer.json with the fast tokenizer's behaviour. */
        JSON
    }

    static final String SPM_FILE = "sentencepiece.bpe.model";
    static final String JSON_FILE = "tokenizer.json";

    private final Backend backend;
    private final Format format;

    XlmRobertaTokenizer(Backend backend, Format format) {
        this.backend = backend;
        this.format = format;
    }

    /** Loads the tokenizer of a model folder, choosing the file like AutoTokenizer. */
    public static XlmRobertaTokenizer load(Path dir) {
        return load(dir, Format.AUTO);
    }

    /** Loads the tokenizer of a model folder from the given file form. */
    public static XlmRobertaTokenizer load(Path dir, Format format) {
        if (!Files.isDirectory(dir)) {
            throw new TokenizerException(dir + ": not a model folder");
        }
        Path json = dir.resolve(JSON_FILE);
        Path spm = dir.resolve(SPM_FILE);
        return switch (format) {
            case JSON -> fromTokenizerJson(json);
            case SENTENCEPIECE -> fromSentencePiece(spm);
            case AUTO -> {
                if (Files.exists(json)) {
                    yield fromTokenizerJson(json);
                }
                if (Files.exists(spm)) {
                    yield fromSentencePiece(spm);
                }
                throw new TokenizerException(dir + ": no " + JSON_FILE + " or " + SPM_FILE + " in the folder");
            }
        };
    }

    /** The slow-tokenizer form from a SentencePiece model file. */
    public static XlmRobertaTokenizer fromSentencePiece(Path modelFile) {
        return new XlmRobertaTokenizer(new SentencePieceBackend(modelFile), Format.SENTENCEPIECE);
    }

    /** The fast-tokenizer form from a tokenizer.json file. */
    public static XlmRobertaTokenizer fromTokenizerJson(Path file) {
        return new XlmRobertaTokenizer(JsonBackend.load(file), Format.JSON);
    }

    /** The form in use: {@link Format#SENTENCEPIECE} or {@link Format#JSON}. */
    public Format format() {
        return format;
    }

    public int vocabSize() {
        return backend.vocabSize();
    }

    public int padId() {
        return backend.padId();
    }

    /** The token string of an id, or null when outside the vocabulary. */
    public String idToToken(int id) {
        return backend.idToToken(id);
    }

    /** The id of a token string, or -1. */
    public int tokenToId(String token) {
        return backend.tokenToId(token);
    }

    /** Encodes one text with special tokens. */
    public Encoding encode(String text) {
        return encode(text, null, EncodeOptions.defaults());
    }

    /** Encodes a text pair with special tokens. */
    public Encoding encode(String text, String pair) {
        return encode(text, pair, EncodeOptions.defaults());
    }

    /**
     * Encodes a text or a pair.
     *
     * @param text the first text
     * @param pair the second text, or null
     * @param opts special tokens, truncation, padding (padding to the longest is a no-op for one text)
     */
    public Encoding encode(String text, String pair, EncodeOptions opts) {
        Encoding e = encodeUnpadded(text, pair, opts);
        int target = padTarget(e.length(), opts);
        return pad(e, target);
    }

    /** Encodes texts as a batch: padding to the longest pads to the longest of the batch. */
    public List<Encoding> encodeBatch(List<String> texts, EncodeOptions opts) {
        return encodeBatch(texts, null, opts);
    }

    /** Encodes text pairs as a batch ({@code pairs} null or of the same size as {@code texts}). */
    public List<Encoding> encodeBatch(List<String> texts, List<String> pairs, EncodeOptions opts) {
        if (pairs != null && pairs.size() != texts.size()) {
            throw new IllegalArgumentException("got " + texts.size() + " texts but " + pairs.size() + " pairs");
        }
        List<Encoding> out = new ArrayList<>(texts.size());
        int longest = 0;
        for (int i = 0; i < texts.size(); i++) {
            Encoding e = encodeUnpadded(texts.get(i), pairs == null ? null : pairs.get(i), opts);
            out.add(e);
            longest = Math.max(longest, e.length());
        }
        int target = padTarget(longest, opts);
        out.replaceAll(e -> pad(e, target));
        return out;
    }

    /** Decodes ids to text, optionally without the special tokens. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return backend.decode(ids, skipSpecialTokens);
    }

    /**
     * Truncates (and pads) an encoding that {@link #encode(String, String, EncodeOptions)} made without
     * truncation or padding, as encoding the same text (pair) with {@code opts} would have: the same tokens,
     * special tokens, overflowing windows and errors, without tokenizing again. For a caller that counts an
     * input's tokens before deciding to cut it.
     *
     * <pre>{@code
     * Encoding whole = tok.encode(text, null, EncodeOptions.defaults());
     * Encoding cut = whole.length() > 512 ? tok.truncate(whole, EncodeOptions.defaults().maxLength(512)) : whole;
     * }</pre>
     *
     * @param whole an untruncated, unpadded encoding of this tokenizer, with special tokens as {@code opts} says
     * @param opts  as for {@code encode}
     * @throws IllegalArgumentException if {@code whole} was truncated, padded or made with other special tokens
     */
    public Encoding truncate(Encoding whole, EncodeOptions opts) {
        int n = whole.length();
        int[] seq = whole.sequenceIds();
        int specials = 0;
        boolean second = false;
        for (int i = 0; i < n; i++) {
            if (whole.attentionMask()[i] == 0) {
                throw new IllegalArgumentException("cannot truncate a padded encoding: truncate before padding");
            }
            if (seq[i] < 0) {
                specials++;
            } else if (seq[i] == 1) {
                second = true;
            }
        }
        if (!whole.overflowing().isEmpty()) {
            throw new IllegalArgumentException("the encoding was truncated already (it has overflowing windows)");
        }
        Template tpl = backend.template();
        // a pair whose second text has no tokens still has the pair's special tokens
        boolean pair = second || opts.addSpecialTokens() && specials == tpl.added(true) && specials != tpl.added(false);
        int want = opts.addSpecialTokens() ? tpl.added(pair) : 0;
        if (specials != want) {
            throw new IllegalArgumentException("the encoding has " + specials + " special tokens where encoding with"
                    + " these options adds " + want + ": truncate with the options it was encoded with");
        }
        Encoding e = finish(pieces(whole, 0), pair ? pieces(whole, 1) : null, opts);
        return pad(e, padTarget(e.length(), opts));
    }

    /** The tokens of text {@code s} (0 or 1) of an encoding. */
    private static Pieces pieces(Encoding e, int s) {
        Pieces p = new Pieces();
        for (int i = 0; i < e.length(); i++) {
            if (e.sequenceIds()[i] == s) {
                p.add(e.ids()[i], e.tokens()[i], e.starts()[i], e.ends()[i], e.wordIds()[i]);
            }
        }
        return p;
    }

    private Encoding encodeUnpadded(String text, String pair, EncodeOptions opts) {
        if (text == null) {
            throw new IllegalArgumentException("text must not be null");
        }
        Pieces a = new Pieces();
        backend.tokenize(text, a);
        Pieces b = null;
        if (pair != null) {
            b = new Pieces();
            backend.tokenize(pair, b);
        }
        return finish(a, b, opts);
    }

    /** The tokens of a text (and pair) with special tokens, truncated as {@code opts} say; unpadded. */
    private Encoding finish(Pieces a, Pieces b, EncodeOptions opts) {
        Template tpl = backend.template();
        if (!opts.truncates()) {
            return assemble(a, b, tpl, opts.addSpecialTokens(), List.of());
        }
        int specials = opts.addSpecialTokens() ? tpl.added(b != null) : 0;
        if (opts.maxLength() < specials) {
            // the special tokens alone would pass the limit: the result could not respect it
            throw new IllegalArgumentException("max_length " + opts.maxLength() + " is less than the " + specials
                    + " special tokens " + (b == null ? "a text" : "a text pair") + " takes");
        }
        return truncate(a, b, opts.maxLength() - specials, tpl, opts);
    }

    private Encoding truncate(Pieces a, Pieces b, int budget, Template tpl, EncodeOptions opts) {
        int na = a.size;
        int nb = b == null ? 0 : b.size;
        if (na + nb <= budget) {
            return assemble(a, b, tpl, opts.addSpecialTokens(), List.of());
        }
        int keepA = na;
        int keepB = nb;
        Truncation strategy = opts.truncation();
        if (b == null && strategy == Truncation.ONLY_SECOND) {
            throw new IllegalArgumentException("truncation only_second needs a text pair");
        }
        if (b == null || strategy == Truncation.ONLY_FIRST) {
            keepA = Math.max(0, budget - nb);
            if (b != null && nb >= budget) {
                throw new IllegalArgumentException("cannot truncate the first text: the second alone has "
                        + nb + " tokens for a budget of " + budget);
            }
        } else if (strategy == Truncation.ONLY_SECOND) {
            if (na >= budget) {
                throw new IllegalArgumentException("cannot truncate the second text: the first alone has "
                        + na + " tokens for a budget of " + budget);
            }
            keepB = budget - na;
        } else if (backend.slowPairTruncation()) {
            // transformers' slow longest_first: one token at a time from the longer (ties: the second).
            for (int r = na + nb - budget; r > 0; r--) {
                if (keepA > keepB) {
                    keepA--;
                } else {
                    keepB--;
                }
            }
        } else {
            // HF tokenizers' longest_first.
            int n1 = Math.min(na, nb);
            int n2;
            boolean swap = na > nb;
            n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
            if (n1 + n2 > budget) {
                n1 = budget / 2;
                n2 = n1 + budget % 2;
            }
            keepA = swap ? n2 : n1;
            keepB = swap ? n1 : n2;
            keepA = Math.min(keepA, na);
            keepB = Math.min(keepB, nb);
        }
        if (opts.returnOverflow() && (keepA == 0 && na > 0 || keepB == 0 && nb > 0)) {
            // a window of no tokens leaves the whole text to one overflow window, past the limit
            throw new IllegalArgumentException("max_length " + opts.maxLength() + " leaves no room for the "
                    + (keepA == 0 && na > 0 ? "first" : "second") + " text beside the special tokens and the "
                    + (keepA == 0 ? "second" : "first") + " text; overflowing windows need at least one token of each");
        }
        List<Pieces> winA = windows(a, keepA, opts.stride(), opts.truncationSide());
        List<Pieces> winB = b == null ? null : windows(b, keepB, opts.stride(), opts.truncationSide());
        List<Encoding> overflow = new ArrayList<>();
        if (opts.returnOverflow()) {
            // HF's Encoding::merge_with order: (A_i, B_0), (A_i, B_j) for each i >= 1, then (A_0, B_j).
            for (int i = 1; i < winA.size(); i++) {
                if (winB == null) {
                    overflow.add(assemble(winA.get(i), null, tpl, opts.addSpecialTokens(), List.of()));
                    continue;
                }
                for (Pieces pb : winB) {
                    overflow.add(assemble(winA.get(i), pb, tpl, opts.addSpecialTokens(), List.of()));
                }
            }
            if (winB != null) {
                for (int j = 1; j < winB.size(); j++) {
                    overflow.add(assemble(winA.get(0), winB.get(j), tpl, opts.addSpecialTokens(), List.of()));
                }
            }
            overflow.replaceAll(e -> pad(e, padTarget(e.length(), opts)));
        }
        return assemble(winA.get(0), winB == null ? null : winB.get(0), tpl, opts.addSpecialTokens(), overflow);
    }

    /**
     * HF's Encoding::truncate: the first {@code keep} tokens, then windows stepping by keep - stride (right);
     * from the left, the last {@code keep} tokens, then windows stepping back towards the start.
     */
    private static List<Pieces> windows(Pieces p, int keep, int stride, EncodeOptions.Side side) {
        List<Pieces> out = new ArrayList<>();
        if (keep >= p.size) {
            out.add(p);
            return out;
        }
        if (keep == 0) {
            out.add(p.slice(0, 0));
            out.add(p);
            return out;
        }
        if (stride >= keep) {
            throw new IllegalArgumentException("stride " + stride + " must be smaller than the tokens kept per window ("
                    + keep + ")");
        }
        int step = keep - stride;
        if (side == EncodeOptions.Side.LEFT) {
            for (int stop = p.size; ; stop -= step) {
                int start = Math.max(0, stop - keep);
                out.add(p.slice(start, stop));
                if (start == 0) {
                    break;
                }
            }
            return out;
        }
        for (int start = 0; ; start += step) {
            int stop = Math.min(start + keep, p.size);
            out.add(p.slice(start, stop));
            if (stop == p.size) {
                break;
            }
        }
        return out;
    }

    private Encoding assemble(Pieces a, Pieces b, Template tpl, boolean specials, List<Encoding> overflow) {
        List<Template.Item> items = b == null ? tpl.single() : tpl.pair();
        int n = 0;
        for (Template.Item it : items) {
            if (it.isSpecial()) {
                n += specials ? 1 : 0;
            } else {
                n += it.sequence() == 0 ? a.size : b.size;
            }
        }
        if (!specials && b == null) {
            n = a.size;
        }
        int[] ids = new int[n];
        String[] tokens = new String[n];
        int[] types = new int[n];
        int[] starts = new int[n];
        int[] ends = new int[n];
        int[] attn = new int[n];
        int[] special = new int[n];
        int[] words = new int[n];
        int[] seqs = new int[n];
        int k = 0;
        for (Template.Item it : items) {
            if (it.isSpecial()) {
                if (!specials) {
                    continue;
                }
                ids[k] = it.id();
                tokens[k] = it.token();
                types[k] = it.typeId();
                attn[k] = 1;
                special[k] = 1;
                words[k] = -1;
                seqs[k] = -1;
                k++;
            } else {
                Pieces p = it.sequence() == 0 ? a : b;
                for (int i = 0; i < p.size; i++, k++) {
                    ids[k] = p.ids[i];
                    tokens[k] = p.tokens[i];
                    types[k] = it.typeId();
                    starts[k] = p.starts[i];
                    ends[k] = p.ends[i];
                    attn[k] = 1;
                    words[k] = p.words[i];
                    seqs[k] = it.sequence();
                }
            }
        }
        return new Encoding(ids, tokens, types, starts, ends, attn, special, words, seqs, overflow);
    }

    private static int padTarget(int longest, EncodeOptions opts) {
        int target = switch (opts.padding()) {
            case NONE -> 0;
            case LONGEST -> longest;
            case MAX_LENGTH -> opts.maxLength();
        };
        if (opts.padding() != Padding.NONE && opts.padToMultipleOf() > 0 && target % opts.padToMultipleOf() != 0) {
            target += opts.padToMultipleOf() - target % opts.padToMultipleOf();
        }
        return target;
    }

    private Encoding pad(Encoding e, int target) {
        int n = e.length();
        if (target <= n) {
            return e;
        }
        int[] ids = Arrays.copyOf(e.ids(), target);
        String[] tokens = Arrays.copyOf(e.tokens(), target);
        int[] types = Arrays.copyOf(e.typeIds(), target);
        int[] starts = Arrays.copyOf(e.starts(), target);
        int[] ends = Arrays.copyOf(e.ends(), target);
        int[] attn = Arrays.copyOf(e.attentionMask(), target);
        int[] special = Arrays.copyOf(e.specialTokensMask(), target);
        int[] words = Arrays.copyOf(e.wordIds(), target);
        int[] seqs = Arrays.copyOf(e.sequenceIds(), target);
        for (int i = n; i < target; i++) {
            ids[i] = backend.padId();
            tokens[i] = backend.padToken();
            special[i] = 1;
            words[i] = -1;
            seqs[i] = -1;
        }
        return new Encoding(ids, tokens, types, starts, ends, attn, special, words, seqs, e.overflowing());
    }
}
