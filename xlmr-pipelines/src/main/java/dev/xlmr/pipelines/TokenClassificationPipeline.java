package dev.xlmr.pipelines;

import dev.xlmr.model.Encoder;
import dev.xlmr.model.Head;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Token classification (NER), as transformers' {@code pipeline("token-classification")} with a fast
 * tokenizer: {@code gather_pre_entities}, {@code aggregate_words} and {@code group_entities}.
 *
 * <pre>{@code
 * try (TokenClassificationPipeline ner = TokenClassificationPipeline.load("Davlan/xlm-roberta-base-ner-hrl")) {
 *     for (TokenClassificationPipeline.Entity e : ner.recognize("Angela Merkel ist in Berlin.",
 *             TokenClassificationPipeline.Options.defaults().aggregation(TokenClassificationPipeline.Aggregation.SIMPLE))) {
 *         System.out.println(e.entity() + " " + e.word() + " " + e.start() + ".." + e.end());   // PER Angela Merkel 0..13
 *     }
 * }
 * }</pre>
 *
 * <p>Offsets {@link Entity#start()}/{@link Entity#end()} are UTF-16 indices into the text
 * ({@code text.substring(start, end)} is the entity's text, with the leading space that XLM-R tokens
 * carry); {@link Entity#toMap(String)} gives code point offsets as Python does. XLM-R's tokenizer has
 * no word-continuation prefix, so a token is a subword, as in transformers' fallback heuristic, when it
 * does not start the text and neither the character before it nor its first character is a space.
 *
 * <p>Texts longer than the model allows are cut into overlapping windows ({@link Options#stride()}
 * tokens of overlap); the entities of all windows are merged as transformers does with a stride
 * (overlapping entities: the longer one, then the higher score, wins). With aggregation NONE the
 * {@code index} is the token's position in its window.
 */
public final class TokenClassificationPipeline extends Pipeline {

    /** transformers' aggregation strategies. */
    public enum Aggregation {
        /** Every token on its own, with its index. */
        NONE,
        /** Tokens grouped into entities by B-/I- tags of the same type. */
        SIMPLE,
        /** Words take the label of their first token, then grouped. */
        FIRST,
        /** Words take the label of their averaged token scores, then grouped. */
        AVERAGE,
        /** Words take the label of their highest-scoring token, then grouped. */
        MAX;

        /** Parses "none", "simple", "first", "average" or "max". */
        public static Aggregation parse(String name) {
            try {
                return valueOf(name.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown aggregation '" + name + "' (none, simple, first, average, max)");
            }
        }
    }

    /**
     * @param aggregation  how tokens become entities
     * @param ignoreLabels labels left out (default ["O"])
     * @param stride       overlap in tokens between the windows of a long text; -1: a quarter of the window
     */
    public record Options(Aggregation aggregation, List<String> ignoreLabels, int stride) {
        public Options {
            if (aggregation == null) {
                aggregation = Aggregation.NONE;
            }
            ignoreLabels = ignoreLabels == null ? List.of("O") : List.copyOf(ignoreLabels);
            if (stride < -1) {
                throw new IllegalArgumentException("stride must be >= 0, got " + stride);
            }
        }

        public static Options defaults() {
            return new Options(Aggregation.NONE, null, -1);
        }

        public Options aggregation(Aggregation a) {
            return new Options(a, ignoreLabels, stride);
        }

        public Options ignoreLabels(List<String> labels) {
            return new Options(aggregation, labels, stride);
        }

        public Options stride(int s) {
            return new Options(aggregation, ignoreLabels, s);
        }
    }

    /**
     * A token (aggregation NONE: {@code entity} is its label, {@code index} its position) or an
     * entity group ({@code entity} is the group's type, {@code index} is -1).
     *
     * @param start UTF-16 index of the first character in the text
     * @param end   UTF-16 index after the last character
     */
    public record Entity(String entity, double score, int index, String word, int start, int end, boolean grouped) {
        /**
         * The transformers JSON object, offsets as code points: {@code entity, score, index, word, start, end}
         * for single tokens, {@code entity_group, score, word, start, end} for groups.
         */
        public Map<String, Object> toMap(String text) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put(grouped ? "entity_group" : "entity", entity);
            m.put("score", score);
            if (!grouped) {
                m.put("index", index);
            }
            m.put("word", word);
            m.put("start", text.codePointCount(0, start));
            m.put("end", text.codePointCount(0, end));
            return m;
        }
    }

    /** A token before aggregation (transformers' pre_entity). */
    private record Pre(String word, double[] scores, int start, int end, int index, boolean subword) {}

    /** A token or word with its label before grouping. */
    private record Tagged(String entity, double score, int index, String word, int start, int end) {}

    private final int unkId;

    /** A pipeline on a token-classification encoder (left open by {@link #close()}). */
    public TokenClassificationPipeline(Encoder encoder, XlmRobertaTokenizer tokenizer) {
        this(source(encoder, tokenizer));
    }

    private TokenClassificationPipeline(Source s) {
        super(s);
        requireHead(Head.TOKEN_CLASSIFICATION);
        unkId = tokenizer.tokenToId("<unk>");
    }

    /** Loads a model folder or hub id (revision {@code main}). */
    public static TokenClassificationPipeline load(String modelOrPath) {
        return load(modelOrPath, null);
    }

    /** Loads a model folder or hub id at a revision. */
    public static TokenClassificationPipeline load(String modelOrPath, String revision) {
        return build(modelOrPath, revision, TokenClassificationPipeline::new);
    }

    /** The entities of a text. */
    public List<Entity> recognize(String text, Options options) {
        return recognizeAll(List.of(text), options).get(0);
    }

    /** Batched: the entities of each text. */
    public List<List<Entity>> recognizeAll(List<String> texts, Options options) {
        int max = maxLength();
        int stride = options.stride() >= 0 ? options.stride() : (max - 2) / 4;
        for (String l : options.ignoreLabels()) {
            if (!config().id2label().isEmpty() && !config().id2label().containsValue(l)) {
                throw new IllegalArgumentException("unknown label '" + l + "' to ignore; the model's labels are "
                        + config().id2label().values());
            }
        }
        // every window of every text in one list
        List<Encoding> windows = new ArrayList<>();
        List<Integer> owner = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            String text = requireText(texts.get(i), "text");
            Encoding e = tokenizer.encode(text, null, EncodeOptions.defaults());
            if (e.length() > max) {
                e = tokenizer.truncate(e, EncodeOptions.defaults().maxLength(max).stride(stride)); // windows of the same tokens
            }
            windows.add(stripOverflow(e));
            owner.add(i);
            for (Encoding o : e.overflowing()) {
                windows.add(o);
                owner.add(i);
            }
        }
        float[][][] logits = new float[windows.size()][][];
        forEachRow(windows, (w, row) -> logits[w] = row.tokens("logits"));
        List<List<Entity>> out = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            out.add(new ArrayList<>());
        }
        int[] chunks = new int[texts.size()];
        for (int w = 0; w < windows.size(); w++) {
            int i = owner.get(w);
            chunks[i]++;
            String text = texts.get(i);
            List<Pre> pre = gather(text, windows.get(w), logits[w], options.aggregation());
            for (Entity e : aggregate(pre, options.aggregation())) {
                if (!options.ignoreLabels().contains(e.entity())) {
                    out.get(i).add(e);
                }
            }
        }
        for (int i = 0; i < texts.size(); i++) {
            List<Entity> es = chunks[i] > 1 ? mergeOverlapping(out.get(i)) : out.get(i);
            out.set(i, List.copyOf(es));
        }
        return out;
    }

    private static Encoding stripOverflow(Encoding e) {
        return new Encoding(e.ids(), e.tokens(), e.typeIds(), e.starts(), e.ends(), e.attentionMask(),
                e.specialTokensMask(), e.wordIds(), e.sequenceIds(), List.of());
    }

    /** transformers' gather_pre_entities with offsets and the heuristic for tokenizers without word prefixes. */
    private List<Pre> gather(String text, Encoding enc, float[][] logits, Aggregation aggregation) {
        List<Pre> pre = new ArrayList<>();
        for (int idx = 0; idx < enc.length(); idx++) {
            if (enc.specialTokensMask()[idx] != 0) {
                continue;
            }
            int id = enc.ids()[idx];
            String word = tokenizer.idToToken(id);
            int start = enc.starts()[idx];
            int end = enc.ends()[idx];
            boolean subword = start > 0 && !(text.charAt(start - 1) == ' ' || start < text.length() && text.charAt(start) == ' ');
            if (id == unkId) {
                word = text.substring(start, end);
                subword = false;
            }
            pre.add(new Pre(word, softmax(logits[idx]), start, end, idx, subword));
        }
        return pre;
    }

    private List<Entity> aggregate(List<Pre> pre, Aggregation aggregation) {
        List<Tagged> tagged = new ArrayList<>();
        if (aggregation == Aggregation.NONE || aggregation == Aggregation.SIMPLE) {
            for (Pre p : pre) {
                int best = argmax(p.scores());
                tagged.add(new Tagged(label(best), p.scores()[best], p.index(), p.word(), p.start(), p.end()));
            }
        } else {
            List<Pre> group = new ArrayList<>();
            for (Pre p : pre) {
                if (!group.isEmpty() && !p.subword()) {
                    tagged.add(aggregateWord(group, aggregation));
                    group = new ArrayList<>();
                }
                group.add(p);
            }
            if (!group.isEmpty()) {
                tagged.add(aggregateWord(group, aggregation));
            }
        }
        if (aggregation == Aggregation.NONE) {
            List<Entity> out = new ArrayList<>();
            for (Tagged t : tagged) {
                out.add(new Entity(t.entity(), t.score(), t.index(), t.word(), t.start(), t.end(), false));
            }
            return out;
        }
        return groupEntities(tagged);
    }

    private Tagged aggregateWord(List<Pre> tokens, Aggregation aggregation) {
        List<String> words = new ArrayList<>();
        for (Pre p : tokens) {
            words.add(p.word());
        }
        String word = tokensToString(words);
        double[] scores;
        switch (aggregation) {
            case FIRST -> scores = tokens.get(0).scores();
            case MAX -> {
                Pre best = tokens.get(0);
                for (Pre p : tokens) {
                    if (max(p.scores()) > max(best.scores())) {
                        best = p;
                    }
                }
                scores = best.scores();
            }
            case AVERAGE -> {
                scores = new double[tokens.get(0).scores().length];
                for (Pre p : tokens) {
                    for (int j = 0; j < scores.length; j++) {
                        scores[j] += p.scores()[j] / tokens.size();
                    }
                }
            }
            default -> throw new IllegalArgumentException("invalid aggregation for words: " + aggregation);
        }
        int idx = argmax(scores);
        return new Tagged(label(idx), scores[idx], -1, word, tokens.get(0).start(), tokens.get(tokens.size() - 1).end());
    }

    private static double max(double[] v) {
        return v[argmax(v)];
    }

    /** transformers' group_entities: adjacent entities of one type join unless the next one is B-. */
    private List<Entity> groupEntities(List<Tagged> entities) {
        List<Entity> groups = new ArrayList<>();
        List<Tagged> current = new ArrayList<>();
        for (Tagged e : entities) {
            if (current.isEmpty()) {
                current.add(e);
                continue;
            }
            String[] tag = tag(e.entity());
            String[] last = tag(current.get(current.size() - 1).entity());
            if (tag[1].equals(last[1]) && !tag[0].equals("B")) {
                current.add(e);
            } else {
                groups.add(group(current));
                current = new ArrayList<>();
                current.add(e);
            }
        }
        if (!current.isEmpty()) {
            groups.add(group(current));
        }
        return groups;
    }

    /** {B|I, type}: "B-PER" is {B, PER}, a label without a prefix counts as I-. */
    private static String[] tag(String entity) {
        if (entity.startsWith("B-")) {
            return new String[] {"B", entity.substring(2)};
        }
        if (entity.startsWith("I-")) {
            return new String[] {"I", entity.substring(2)};
        }
        return new String[] {"I", entity};
    }

    private Entity group(List<Tagged> entities) {
        String first = entities.get(0).entity();
        String type = first.substring(first.lastIndexOf('-') + 1);
        double score = 0;
        List<String> words = new ArrayList<>();
        for (Tagged t : entities) {
            score += t.score();
            words.add(t.word());
        }
        return new Entity(type, score / entities.size(), -1, tokensToString(words), entities.get(0).start(),
                entities.get(entities.size() - 1).end(), true);
    }

    /**
     * The tokenizer's convert_tokens_to_string: for the tokenizer.json form the Metaspace decoder (▁ is a
     * space, none at the start of the first token), for the SentencePiece form the slow tokenizer's
     * join, replace and strip.
     */
    String tokensToString(List<String> tokens) {
        if (tokenizer.format() == XlmRobertaTokenizer.Format.SENTENCEPIECE) {
            return String.join("", tokens).replace('\u2581', ' ').strip();
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < tokens.size(); i++) {
            String t = tokens.get(i);
            sb.append(i == 0 ? t.replace("\u2581", "") : t.replace('\u2581', ' '));
        }
        return sb.toString();
    }

    /** transformers' aggregate_overlapping_entities (by start; the longer, then the higher score wins). */
    static List<Entity> mergeOverlapping(List<Entity> entities) {
        if (entities.isEmpty()) {
            return entities;
        }
        List<Entity> sorted = new ArrayList<>(entities);
        sorted.sort(Comparator.comparingInt(Entity::start));
        List<Entity> out = new ArrayList<>();
        Entity prev = sorted.get(0);
        for (Entity e : sorted) {
            if (prev.start() <= e.start() && e.start() < prev.end()) {
                int len = e.end() - e.start();
                int prevLen = prev.end() - prev.start();
                if (len > prevLen || len == prevLen && e.score() > prev.score()) {
                    prev = e;
                }
            } else {
                out.add(prev);
                prev = e;
            }
        }
        out.add(prev);
        return out;
    }
}
