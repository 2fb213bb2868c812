package dev.xlmr.train;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The evaluation metrics of transformers' example scripts: accuracy and macro F1 (scikit-learn's
 * f1_score average="macro": over the labels seen in the references or the predictions), seqeval's
 * entity-level precision, recall and F1 (default mode, conlleval chunking of IOB/IOBES tags), and
 * the SQuAD v1.1/v2 exact match and F1 (answers normalised: lower case, no punctuation, no articles).
 *
 * <pre>{@code
 * double acc = Metrics.accuracy(new int[] {1, 0}, new int[] {1, 1}); // 0.5
 * Map<String, Double> ner = Metrics.seqeval(List.of(List.of("B-PER", "I-PER")), List.of(List.of("B-PER", "I-PER")));
 * }</pre>
 */
public final class Metrics {
    private Metrics() {}

    public static double accuracy(int[] predictions, int[] references) {
        int ok = 0;
        for (int i = 0; i < predictions.length; i++) {
            ok += predictions[i] == references[i] ? 1 : 0;
        }
        return predictions.length == 0 ? 0 : (double) ok / predictions.length;
    }

    /** Unweighted mean of per-label F1 over the labels present in either array (0 where undefined). */
    public static double macroF1(int[] predictions, int[] references) {
        Set<Integer> labels = new TreeSet<>();
        for (int i = 0; i < predictions.length; i++) {
            labels.add(predictions[i]);
            labels.add(references[i]);
        }
        double sum = 0;
        for (int l : labels) {
            int tp = 0;
            int fp = 0;
            int fn = 0;
            for (int i = 0; i < predictions.length; i++) {
                boolean p = predictions[i] == l;
                boolean r = references[i] == l;
                tp += p && r ? 1 : 0;
                fp += p && !r ? 1 : 0;
                fn += !p && r ? 1 : 0;
            }
            sum += tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
        }
        return labels.isEmpty() ? 0 : sum / labels.size();
    }

    /** An entity: type and token span [start, end]. */
    record Chunk(String type, int start, int end) {}

    /**
     * seqeval.metrics precision/recall/f1 (micro over entities) and overall accuracy over tokens:
     * keys "precision", "recall", "f1", "accuracy".
     */
    public static Map<String, Double> seqeval(List<List<String>> predictions, List<List<String>> references) {
        List<String> flatP = new ArrayList<>();
        List<String> flatR = new ArrayList<>();
        int tokens = 0;
        int right = 0;
        for (int s = 0; s < references.size(); s++) {
            // seqeval chunks the concatenation with an O between sentences
            flatP.addAll(predictions.get(s));
            flatP.add("O");
            flatR.addAll(references.get(s));
            flatR.add("O");
            for (int i = 0; i < references.get(s).size(); i++) {
                tokens++;
                right += references.get(s).get(i).equals(predictions.get(s).get(i)) ? 1 : 0;
            }
        }
        Set<Chunk> pred = new java.util.HashSet<>(chunks(flatP));
        Set<Chunk> ref = new java.util.HashSet<>(chunks(flatR));
        int correct = 0;
        for (Chunk c : pred) {
            correct += ref.contains(c) ? 1 : 0;
        }
        double p = pred.isEmpty() ? 0 : (double) correct / pred.size();
        double r = ref.isEmpty() ? 0 : (double) correct / ref.size();
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("precision", p);
        out.put("recall", r);
        out.put("f1", p + r == 0 ? 0 : 2 * p * r / (p + r));
        out.put("accuracy", tokens == 0 ? 0 : (double) right / tokens);
        return out;
    }

    /** seqeval's get_entities (conlleval's start_of_chunk / end_of_chunk). */
    static List<Chunk> chunks(List<String> seq) {
        List<Chunk> out = new ArrayList<>();
        String prevTag = "O";
        String prevType = "";
        int begin = 0;
        List<String> s = new ArrayList<>(seq);
        s.add("O");
        for (int i = 0; i < s.size(); i++) {
            String chunk = s.get(i);
            // seqeval: tag = chunk[0]; type = chunk[1:].split('-', 1)[-1] or '_'
            String tag = chunk.isEmpty() ? "O" : chunk.substring(0, 1);
            String rest = chunk.isEmpty() ? "" : chunk.substring(1);
            int dash = rest.indexOf('-');
            String type = dash >= 0 ? rest.substring(dash + 1) : rest;
            type = type.isEmpty() ? "_" : type;
            if (endOfChunk(prevTag, tag, prevType, type)) {
                out.add(new Chunk(prevType, begin, i - 1));
            }
            if (startOfChunk(prevTag, tag, prevType, type)) {
                begin = i;
            }
            prevTag = tag;
            prevType = type;
        }
        return out;
    }

    private static boolean endOfChunk(String prevTag, String tag, String prevType, String type) {
        return prevTag.equals("E") || prevTag.equals("S")
                || (prevTag.equals("B") && (tag.equals("B") || tag.equals("S") || tag.equals("O")))
                || (prevTag.equals("I") && (tag.equals("B") || tag.equals("S") || tag.equals("O")))
                || (!prevTag.equals("O") && !prevTag.equals(".") && !prevType.equals(type));
    }

    private static boolean startOfChunk(String prevTag, String tag, String prevType, String type) {
        return tag.equals("B") || tag.equals("S")
                || (prevTag.equals("E") && (tag.equals("E") || tag.equals("I")))
                || (prevTag.equals("S") && (tag.equals("E") || tag.equals("I")))
                || (prevTag.equals("O") && (tag.equals("E") || tag.equals("I")))
                || (!tag.equals("O") && !tag.equals(".") && !prevType.equals(type));
    }

    private static final Pattern PUNCT = Pattern.compile("[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~]");
    private static final Pattern ARTICLES = Pattern.compile("\\b(a|an|the)\\b");

    /** SQuAD's normalize_answer. */
    static String normalize(String s) {
        String t = PUNCT.matcher(s.toLowerCase(java.util.Locale.ROOT)).replaceAll("");
        t = ARTICLES.matcher(t).replaceAll(" ");
        return String.join(" ", t.trim().split("\\s+")).trim();
    }

    /** SQuAD token F1 of one prediction against one reference. */
    static double f1(String prediction, String reference) {
        String np = normalize(prediction);
        String nr = normalize(reference);
        String[] p = np.isEmpty() ? new String[0] : np.split(" ");
        String[] r = nr.isEmpty() ? new String[0] : nr.split(" ");
        if (p.length == 0 || r.length == 0) {
            return p.length == r.length ? 1 : 0; // squad v2: both empty agree
        }
        Map<String, Integer> counts = new HashMap<>();
        for (String w : r) {
            counts.merge(w, 1, Integer::sum);
        }
        int same = 0;
        for (String w : p) {
            Integer c = counts.get(w);
            if (c != null && c > 0) {
                same++;
                counts.put(w, c - 1);
            }
        }
        if (same == 0) {
            return 0;
        }
        double precision = (double) same / p.length;
        double recall = (double) same / r.length;
        return 2 * precision * recall / (precision + recall);
    }

    /**
     * SQuAD exact match and F1 in percent (keys "exact_match", "f1"), each the best over an
     * example's references; an example without references is right when the prediction is empty (v2).
     */
    public static Map<String, Double> squad(List<String> predictions, List<List<String>> references) {
        double em = 0;
        double f1 = 0;
        for (int i = 0; i < predictions.size(); i++) {
            List<String> refs = references.get(i).isEmpty() ? List.of("") : references.get(i);
            double bestEm = 0;
            double bestF1 = 0;
            for (String r : refs) {
                bestEm = Math.max(bestEm, normalize(predictions.get(i)).equals(normalize(r)) ? 1 : 0);
                bestF1 = Math.max(bestF1, f1(predictions.get(i), r));
            }
            em += bestEm;
            f1 += bestF1;
        }
        int n = Math.max(1, predictions.size());
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("exact_match", 100 * em / n);
        out.put("f1", 100 * f1 / n);
        return out;
    }
}
