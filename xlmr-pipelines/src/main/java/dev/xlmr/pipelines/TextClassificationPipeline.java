package dev.xlmr.pipelines;

import dev.xlmr.model.Encoder;
import dev.xlmr.model.Head;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Text classification, as transformers' {@code pipeline("text-classification")} (4.27): labels with
 * scores for a text or a text pair, best first.
 *
 * <pre>{@code
 * try (TextClassificationPipeline clf = TextClassificationPipeline.load("testdata/xlmr-seqcls")) {
 *     List<TextClassificationPipeline.Label> all = clf.classify("Hello world!",
 *             TextClassificationPipeline.Options.defaults().topK(3));   // negative 0.378, neutral 0.318, ...
 * }
 * }</pre>
 *
 * The default function follows transformers: sigmoid for {@code problem_type}
 * "multi_label_classification" or one label, else softmax ("regression": none). Inputs longer than
 * the model allows are truncated (longest first) with a warning.
 */
public final class TextClassificationPipeline extends Pipeline {

    /** What turns logits into scores (transformers' {@code function_to_apply}). */
    public enum Function {
        SOFTMAX, SIGMOID, NONE;

        /** Parses "softmax", "sigmoid" or "none". */
        public static Function parse(String name) {
            try {
                return valueOf(name.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown function '" + name + "' (softmax, sigmoid, none)");
            }
        }
    }

    /**
     * @param topK     how many labels, best first (at least 1; all labels when it is at least their number)
     * @param function the function on the logits, or null for the model's default
     */
    public record Options(int topK, Function function) {
        public Options {
            checkTopK(topK);
        }

        /** The best label, with the model's default function. */
        public static Options defaults() {
            return new Options(1, null);
        }

        /** Every label, best first. */
        public static Options all() {
            return new Options(Integer.MAX_VALUE, null);
        }

        public Options topK(int k) {
            return new Options(k, function);
        }

        public Options function(Function f) {
            return new Options(topK, f);
        }
    }

    /** A label and its score. */
    public record Label(String label, double score) {
        /** The transformers JSON object: label, score. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("label", label);
            m.put("score", score);
            return m;
        }
    }

    /** A pipeline on a sequence-classification encoder (left open by {@link #close()}). */
    public TextClassificationPipeline(Encoder encoder, XlmRobertaTokenizer tokenizer) {
        this(source(encoder, tokenizer));
    }

    TextClassificationPipeline(Source s) {
        super(s);
        requireHead(Head.SEQUENCE_CLASSIFICATION);
    }

    /** Loads a model folder or hub id (revision {@code main}). */
    public static TextClassificationPipeline load(String modelOrPath) {
        return load(modelOrPath, null);
    }

    /** Loads a model folder or hub id at a revision. */
    public static TextClassificationPipeline load(String modelOrPath, String revision) {
        return build(modelOrPath, revision, TextClassificationPipeline::new);
    }

    /** The function transformers applies by default for this model's configuration. */
    public Function defaultFunction() {
        String pt = config().problemType();
        int n = config().numLabels();
        if ("multi_label_classification".equals(pt) || n == 1) {
            return Function.SIGMOID;
        }
        if ("single_label_classification".equals(pt) || n > 1) {
            return Function.SOFTMAX;
        }
        return Function.NONE;
    }

    /** The best label of a text. */
    public Label classify(String text) {
        return classify(text, null, Options.defaults()).get(0);
    }

    /** Labels of a text, best first. */
    public List<Label> classify(String text, Options options) {
        return classify(text, null, options);
    }

    /** Labels of a text pair (pair may be null), best first. */
    public List<Label> classify(String text, String pair, Options options) {
        return classifyAll(List.of(text), pair == null ? null : java.util.Collections.singletonList(pair), options).get(0);
    }

    /** Batched: labels of each text (with its pair when {@code pairs} is not null), best first. */
    public List<List<Label>> classifyAll(List<String> texts, List<String> pairs, Options options) {
        return classifyPrepared(prepare(texts, pairs, true), options);
    }

    /**
     * Tokenizes texts (with their pairs; {@code pairs} or one of its entries may be null) as
     * {@link #classifyAll} does, once. With {@code truncate}, pairs longer than {@link #maxLength()} are cut
     * longest first (one warning line); without, they are left whole and {@link #classifyPrepared} refuses them.
     */
    public List<Encoding> prepare(List<String> texts, List<String> pairs, boolean truncate) {
        if (pairs != null && pairs.size() != texts.size()) {
            throw new IllegalArgumentException(texts.size() + " texts but " + pairs.size() + " pairs");
        }
        if (!truncate) {
            List<Encoding> encs = new ArrayList<>(texts.size());
            for (int i = 0; i < texts.size(); i++) {
                String pair = pairs == null || pairs.get(i) == null ? null : requireText(pairs.get(i), "text pair");
                encs.add(tokenizer.encode(requireText(texts.get(i), "text"), pair, EncodeOptions.defaults()));
            }
            return encs;
        }
        if (pairs == null || pairs.stream().allMatch(p -> p != null)) {
            return encodeTruncating(texts, pairs, EncodeOptions.Truncation.LONGEST_FIRST, maxLength());
        }
        List<Encoding> encs = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            encs.addAll(encodeTruncating(List.of(texts.get(i)), pairs.get(i) == null ? null : List.of(pairs.get(i)),
                    EncodeOptions.Truncation.LONGEST_FIRST, maxLength()));
        }
        return encs;
    }

    /**
     * An encoding from {@code prepare(.., false)} cut as {@code prepare(.., true)} would cut it (longest first to
     * {@link #maxLength()}, one warning line when it was longer), without tokenizing it again.
     */
    public Encoding truncate(Encoding whole) {
        if (whole.length() <= maxLength()) {
            return whole;
        }
        warn("1 input was longer than " + maxLength() + " tokens and truncated");
        return tokenizer.truncate(whole, EncodeOptions.defaults().maxLength(maxLength())
                .truncation(EncodeOptions.Truncation.LONGEST_FIRST));
    }

    /** Labels of prepared inputs, best first, in their order. */
    public List<List<Label>> classifyPrepared(List<Encoding> encodings, Options options) {
        Function f = options.function() != null ? options.function() : defaultFunction();
        List<List<Label>> out = new ArrayList<>(Collections.nCopies(encodings.size(), null));
        forEachRow(encodings, (input, row) -> out.set(input, labels(row.get("logits"), f, options.topK())));
        return out;
    }

    /** Scores of logits under a function, best first (stable for ties), the first {@code topK}. */
    List<Label> labels(float[] logits, Function f, int topK) {
        double[] scores = apply(logits, f);
        List<Label> all = new ArrayList<>(scores.length);
        for (int i = 0; i < scores.length; i++) {
            all.add(new Label(label(i), scores[i]));
        }
        all.sort(Comparator.comparingDouble(Label::score).reversed());
        return List.copyOf(all.subList(0, Math.min(topK, all.size())));
    }

    static double[] apply(float[] logits, Function f) {
        return switch (f) {
            case SOFTMAX -> softmax(logits);
            case SIGMOID -> {
                double[] s = new double[logits.length];
                for (int i = 0; i < s.length; i++) {
                    s[i] = sigmoid(logits[i]);
                }
                yield s;
            }
            case NONE -> {
                double[] s = new double[logits.length];
                for (int i = 0; i < s.length; i++) {
                    s[i] = logits[i];
                }
                yield s;
            }
        };
    }
}
