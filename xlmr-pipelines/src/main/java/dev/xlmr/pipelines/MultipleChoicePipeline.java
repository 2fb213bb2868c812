package dev.xlmr.pipelines;

import dev.xlmr.model.PackedInput;
import dev.xlmr.model.Encoder;
import dev.xlmr.model.Head;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Multiple choice ({@code XLMRobertaForMultipleChoice}): each (question, choice) pair gets a logit,
 * the scores are their softmax over the choices. transformers has no pipeline for it; this encodes the
 * pairs as its {@code run_swag} example does (one pair per choice, padded to the longest, truncated
 * longest first with a warning).
 *
 * <pre>{@code
 * try (MultipleChoicePipeline mc = MultipleChoicePipeline.load("testdata/xlmr-mc")) {
 *     List<MultipleChoicePipeline.Choice> ranked = mc.choose("Where is the file?",
 *             List.of("In the home directory.", "Nothing to see here."));
 *     ranked.get(0).choice();   // the best choice
 * }
 * }</pre>
 */
public final class MultipleChoicePipeline extends Pipeline {

    /**
     * A choice with its probability.
     *
     * @param index  its position among the choices given
     * @param choice its text
     * @param score  softmax of the logits over the choices
     */
    public record Choice(int index, String choice, double score) {
        /** JSON object: choice, index, score. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("choice", choice);
            m.put("index", index);
            m.put("score", score);
            return m;
        }
    }

    /** A pipeline on a multiple-choice encoder (left open by {@link #close()}). */
    public MultipleChoicePipeline(Encoder encoder, XlmRobertaTokenizer tokenizer) {
        this(source(encoder, tokenizer));
    }

    private MultipleChoicePipeline(Source s) {
        super(s);
        requireHead(Head.MULTIPLE_CHOICE);
    }

    /** Loads a model folder or hub id (revision {@code main}). */
    public static MultipleChoicePipeline load(String modelOrPath) {
        return load(modelOrPath, null);
    }

    /** Loads a model folder or hub id at a revision. */
    public static MultipleChoicePipeline load(String modelOrPath, String revision) {
        return build(modelOrPath, revision, MultipleChoicePipeline::new);
    }

    /** The choices, best first. */
    public List<Choice> choose(String question, List<String> choices) {
        return chooseAll(List.of(question), List.of(choices)).get(0);
    }

    /** The encodings of the (question, choice) pairs, unpadded. */
    public List<Encoding> encode(String question, List<String> choices) {
        requireText(question, "question");
        if (choices == null || choices.isEmpty()) {
            throw new IllegalArgumentException("at least one choice is needed");
        }
        return encodeTruncating(java.util.Collections.nCopies(choices.size(), question), choices,
                EncodeOptions.Truncation.LONGEST_FIRST, maxLength());
    }

    /** Batched: for each question its choices, best first. Examples with the same number of choices share batches. */
    public List<List<Choice>> chooseAll(List<String> questions, List<List<String>> choices) {
        if (questions.size() != choices.size()) {
            throw new IllegalArgumentException(questions.size() + " questions but " + choices.size() + " choice lists");
        }
        List<List<Choice>> out = new ArrayList<>();
        List<List<Encoding>> encs = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            encs.add(encode(questions.get(i), choices.get(i)));
            out.add(null);
        }
        Integer[] order = new Integer[questions.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> choices.get(i).size())
                .thenComparingInt(i -> longest(encs.get(i))));
        for (int from = 0; from < order.length; ) {
            int k = choices.get(order[from]).size();
            int to = from;
            while (to < order.length && to - from < Math.max(1, batchSize() / k) && choices.get(order[to]).size() == k) {
                to++;
            }
            // one packed batch: each example's choices one after another, no padding
            List<int[]> seqs = new ArrayList<>((to - from) * k);
            for (int j = from; j < to; j++) {
                for (Encoding e : encs.get(order[j])) {
                    seqs.add(e.ids());
                }
            }
            float[] logits = encoder.forward(PackedInput.of(seqs, null, k)).get("logits").data();
            for (int j = from; j < to; j++) {
                int ex = order[j];
                double[] p = softmax(Arrays.copyOfRange(logits, (j - from) * k, (j - from + 1) * k));
                List<Choice> cs = new ArrayList<>();
                for (int c = 0; c < k; c++) {
                    cs.add(new Choice(c, choices.get(ex).get(c), p[c]));
                }
                cs.sort(Comparator.comparingDouble(Choice::score).reversed());
                out.set(ex, List.copyOf(cs));
            }
            from = to;
        }
        return out;
    }

    private static int longest(List<Encoding> es) {
        return es.stream().mapToInt(Encoding::length).max().orElse(0);
    }
}
