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
 * Zero-shot classification with an NLI model, as transformers' {@code pipeline("zero-shot-classification")}
 * (4.27): each candidate label becomes the hypothesis "This example is {label}." of a (text,
 * hypothesis) pair.
 *
 * <pre>{@code
 * try (ZeroShotClassificationPipeline zs = ZeroShotClassificationPipeline.load("joeddav/xlm-roberta-large-xnli")) {
 *     ZeroShotClassificationPipeline.Result r = zs.classify("Le match était serré.", List.of("sport", "politics"));
 *     r.labels().get(0);   // "sport"
 * }
 * }</pre>
 *
 * Single-label: softmax of the entailment logits over the candidate labels. Multi-label (or a single
 * candidate): for each label, softmax over its [contradiction, entailment] logits. The entailment
 * index is the first label2id entry whose name starts with "entail" (case-insensitive), else the
 * first such id2label entry, else the last label, as transformers falls back to -1; contradiction is
 * index 0 (the last one when entailment is 0). Texts longer than the model allows are truncated
 * (only the text, not the hypothesis) with a warning.
 */
public final class ZeroShotClassificationPipeline extends Pipeline {

    /** transformers' default hypothesis template. */
    public static final String DEFAULT_TEMPLATE = "This example is {}.";

    /**
     * @param hypothesisTemplate a template with {@code {}} where the label goes
     * @param multiLabel         score each label independently
     */
    public record Options(String hypothesisTemplate, boolean multiLabel) {
        public Options {
            if (hypothesisTemplate == null) {
                hypothesisTemplate = DEFAULT_TEMPLATE;
            }
            if (!hypothesisTemplate.contains("{}")) {
                throw new IllegalArgumentException("the hypothesis template \"" + hypothesisTemplate
                        + "\" has no {} for the label");
            }
        }

        public static Options defaults() {
            return new Options(DEFAULT_TEMPLATE, false);
        }

        public Options hypothesisTemplate(String t) {
            return new Options(t, multiLabel);
        }

        public Options multiLabel(boolean m) {
            return new Options(hypothesisTemplate, m);
        }
    }

    /**
     * The transformers result: the text, the labels best first, and their scores.
     */
    public record Result(String sequence, List<String> labels, List<Double> scores) {
        /** The transformers JSON object: sequence, labels, scores. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("sequence", sequence);
            m.put("labels", labels);
            m.put("scores", scores);
            return m;
        }
    }

    private final int entailment;
    private final int contradiction;

    /** A pipeline on an NLI sequence-classification encoder (left open by {@link #close()}). */
    public ZeroShotClassificationPipeline(Encoder encoder, XlmRobertaTokenizer tokenizer) {
        this(source(encoder, tokenizer));
    }

    private ZeroShotClassificationPipeline(Source s) {
        super(s);
        requireHead(Head.SEQUENCE_CLASSIFICATION);
        if (config().numLabels() < 2) {
            throw new IllegalArgumentException("zero-shot classification needs an NLI model with at least 2 labels");
        }
        entailment = entailmentIndex();
        contradiction = entailment == 0 ? config().numLabels() - 1 : 0;
    }

    /** Loads a model folder or hub id (revision {@code main}). */
    public static ZeroShotClassificationPipeline load(String modelOrPath) {
        return load(modelOrPath, null);
    }

    /** Loads a model folder or hub id at a revision. */
    public static ZeroShotClassificationPipeline load(String modelOrPath, String revision) {
        return build(modelOrPath, revision, ZeroShotClassificationPipeline::new);
    }

    /** The index of the entailment logit. */
    public int entailmentIndex() {
        for (Map.Entry<String, Integer> e : config().label2id().entrySet()) {
            if (e.getKey().toLowerCase(Locale.ROOT).startsWith("entail")) {
                return e.getValue();
            }
        }
        for (Map.Entry<Integer, String> e : config().id2label().entrySet()) {
            if (e.getValue().toLowerCase(Locale.ROOT).startsWith("entail")) {
                return e.getKey();
            }
        }
        return config().numLabels() - 1;
    }

    /** Classifies a text among candidate labels (single-label, default template). */
    public Result classify(String text, List<String> candidateLabels) {
        return classify(text, candidateLabels, Options.defaults());
    }

    /** Classifies a text among candidate labels. */
    public Result classify(String text, List<String> candidateLabels, Options options) {
        return classifyAll(List.of(text), candidateLabels, options).get(0);
    }

    /** Batched: every text against the same candidate labels. */
    public List<Result> classifyAll(List<String> texts, List<String> candidateLabels, Options options) {
        List<String> labels = checkLabels(candidateLabels);
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("at least one text is needed");
        }
        int n = labels.size();
        List<String> firsts = new ArrayList<>(texts.size() * n);
        List<String> hypotheses = new ArrayList<>(texts.size() * n);
        for (String t : texts) {
            requireText(t, "text");
            for (String l : labels) {
                firsts.add(t);
                hypotheses.add(options.hypothesisTemplate().replace("{}", l));
            }
        }
        List<Encoding> encs;
        try {
            encs = encodeTruncating(firsts, hypotheses, EncodeOptions.Truncation.ONLY_FIRST, maxLength());
        } catch (IllegalArgumentException e) {
            // transformers retries without truncation when only_first cannot make room
            encs = encodeTruncating(firsts, hypotheses, EncodeOptions.Truncation.DO_NOT_TRUNCATE, maxLength());
        }
        float[][] logits = new float[encs.size()][];
        forEachRow(encs, (input, row) -> logits[input] = row.get("logits"));
        List<Result> out = new ArrayList<>(texts.size());
        boolean multi = options.multiLabel() || n == 1;
        for (int t = 0; t < texts.size(); t++) {
            double[] scores = new double[n];
            if (multi) {
                for (int i = 0; i < n; i++) {
                    float[] l = logits[t * n + i];
                    scores[i] = softmax(new float[] {l[contradiction], l[entailment]})[1];
                }
            } else {
                float[] ent = new float[n];
                for (int i = 0; i < n; i++) {
                    ent[i] = logits[t * n + i][entailment];
                }
                scores = softmax(ent);
            }
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            double[] s = scores;
            java.util.Arrays.sort(order, Comparator.comparingDouble((Integer i) -> s[i]).reversed());
            List<String> ls = new ArrayList<>(n);
            List<Double> ss = new ArrayList<>(n);
            for (int i : order) {
                ls.add(labels.get(i));
                ss.add(s[i]);
            }
            out.add(new Result(texts.get(t), Collections.unmodifiableList(ls), Collections.unmodifiableList(ss)));
        }
        return out;
    }

    /** Labels as transformers' argument parser takes them: stripped, empty ones dropped, at least one. */
    static List<String> checkLabels(List<String> candidateLabels) {
        List<String> labels = new ArrayList<>();
        if (candidateLabels != null) {
            for (String l : candidateLabels) {
                if (l != null && !l.strip().isEmpty()) {
                    labels.add(l.strip());
                }
            }
        }
        if (labels.isEmpty()) {
            throw new IllegalArgumentException("at least one candidate label is needed");
        }
        return labels;
    }
}
