package dev.xlmr.pipelines;

import static dev.xlmr.pipelines.Fixtures.close;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.model.Batch;
import dev.xlmr.model.NdArray;
import dev.xlmr.model.XlmRobertaModel;
import dev.xlmr.pipelines.TokenClassificationPipeline.Aggregation;
import dev.xlmr.pipelines.TokenClassificationPipeline.Entity;
import dev.xlmr.pipelines.TokenClassificationPipeline.Options;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * NER: aggregation none against the fixture; the other aggregations against expectations computed
 * here from the encoder's raw logits; windows over long texts.
 */
class TokenClassificationTest {
    static XlmRobertaModel model;
    static XlmRobertaTokenizer tok;
    static TokenClassificationPipeline ner;
    static final String[] LABELS = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"};
    static final String TEXT = "Le système de fichiers est vérifié au démarrage.";

    @BeforeAll
    static void load() {
        model = XlmRobertaModel.load(Fixtures.dir("xlmr-tokcls"));
        tok = XlmRobertaTokenizer.load(Fixtures.dir("xlmr-tokcls"));
        ner = new TokenClassificationPipeline(model, tok);
    }

    @AfterAll
    static void release() {
        model.close();
    }

    @Test
    void aggregationNoneMatchesTransformers() {
        for (JsonNode c : Fixtures.expected("xlmr-tokcls").get("token_classification_none")) {
            String text = c.get("input").asText();
            List<Entity> got = ner.recognize(text, Options.defaults());
            JsonNode exp = c.get("output");
            assertEquals(exp.size(), got.size(), text);
            for (int i = 0; i < exp.size(); i++) {
                JsonNode e = exp.get(i);
                Entity g = got.get(i);
                assertEquals(e.get("entity").asText(), g.entity(), text);
                assertEquals(e.get("index").asInt(), g.index(), text);
                assertEquals(e.get("word").asText(), g.word(), text);
                close(e.get("score").asDouble(), g.score(), text);
                // offsets: the token's text (its ▁ is the space before it, none at the start)
                assertEquals(g.word().replace('\u2581', ' ').strip(), text.substring(g.start(), g.end()).strip(), text);
                Map<String, Object> m = g.toMap(text);
                assertEquals(List.of("entity", "score", "index", "word", "start", "end"), List.copyOf(m.keySet()));
            }
        }
    }

    /** The softmax of each token's logits, computed from the encoder directly. */
    static double[][] probabilities(Encoding e) {
        NdArray logits = model.forward(Batch.of(new int[][] {e.ids()}, null, null)).get("logits");
        double[][] p = new double[e.length()][];
        for (int t = 0; t < e.length(); t++) {
            double[] x = new double[LABELS.length];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < x.length; j++) {
                x[j] = logits.get(0, t, j);
                max = Math.max(max, x[j]);
            }
            double sum = 0;
            for (int j = 0; j < x.length; j++) {
                x[j] = Math.exp(x[j] - max);
                sum += x[j];
            }
            for (int j = 0; j < x.length; j++) {
                x[j] /= sum;
            }
            p[t] = x;
        }
        return p;
    }

    static int argmax(double[] v) {
        int b = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[b]) {
                b = i;
            }
        }
        return b;
    }

    /** Words of the text (tokens joined where the next token does not start after a space). */
    static List<List<Integer>> words(String text, Encoding e) {
        List<List<Integer>> words = new ArrayList<>();
        for (int t = 1; t < e.length() - 1; t++) {
            int s = e.starts()[t];
            boolean continues = s > 0 && text.charAt(s - 1) != ' ' && text.charAt(s) != ' ';
            if (words.isEmpty() || !continues) {
                words.add(new ArrayList<>());
            }
            words.getLast().add(t);
        }
        return words;
    }

    @Test
    void simpleGroupsBeginInsideRunsOfOneType() {
        Encoding e = tok.encode(TEXT);
        double[][] p = probabilities(e);
        List<Entity> got = ner.recognize(TEXT, Options.defaults().aggregation(Aggregation.SIMPLE).ignoreLabels(List.of()));
        // by hand: a run continues while the type is the same and the tag is not B-
        List<double[]> expected = new ArrayList<>(); // {type, scoreSum, count, firstToken, lastToken}
        List<String> types = new ArrayList<>();
        String prevType = null;
        for (int t = 1; t < e.length() - 1; t++) {
            int a = argmax(p[t]);
            String label = LABELS[a];
            String type = label.contains("-") ? label.substring(2) : label;
            boolean begin = label.startsWith("B-");
            if (prevType != null && prevType.equals(type) && !begin) {
                double[] g = expected.getLast();
                g[1] += p[t][a];
                g[2]++;
                g[4] = t;
            } else {
                expected.add(new double[] {0, p[t][a], 1, t, t});
                types.add(type);
            }
            prevType = type;
        }
        assertEquals(expected.size(), got.size());
        for (int i = 0; i < got.size(); i++) {
            double[] g = expected.get(i);
            Entity en = got.get(i);
            assertTrue(en.grouped());
            assertEquals(types.get(i), en.entity());
            close(g[1] / g[2], en.score(), "group " + i);
            assertEquals(e.starts()[(int) g[3]], en.start());
            assertEquals(e.ends()[(int) g[4]], en.end());
            assertEquals(TEXT.substring(en.start(), en.end()).strip(), en.word());
        }
        // the O groups are left out by default
        List<Entity> withoutO = ner.recognize(TEXT, Options.defaults().aggregation(Aggregation.SIMPLE));
        assertEquals(got.stream().filter(x -> !x.entity().equals("O")).toList(), withoutO);
    }

    @Test
    void wordAggregationsFirstAverageMax() {
        String text = "Die Datei wurde nicht gefunden; bitte erneut versuchen.";
        Encoding e = tok.encode(text);
        double[][] p = probabilities(e);
        List<List<Integer>> words = words(text, e);
        for (Aggregation agg : List.of(Aggregation.FIRST, Aggregation.AVERAGE, Aggregation.MAX)) {
            // every word gets one label by hand; grouping then as in simple
            List<String> wordLabels = new ArrayList<>();
            List<Double> wordScores = new ArrayList<>();
            for (List<Integer> w : words) {
                double[] s;
                if (agg == Aggregation.FIRST) {
                    s = p[w.getFirst()];
                } else if (agg == Aggregation.MAX) {
                    s = p[w.getFirst()];
                    for (int t : w) {
                        if (p[t][argmax(p[t])] > s[argmax(s)]) {
                            s = p[t];
                        }
                    }
                } else {
                    s = new double[LABELS.length];
                    for (int t : w) {
                        for (int j = 0; j < s.length; j++) {
                            s[j] += p[t][j] / w.size();
                        }
                    }
                }
                wordLabels.add(LABELS[argmax(s)]);
                wordScores.add(s[argmax(s)]);
            }
            List<Entity> got = ner.recognize(text, Options.defaults().aggregation(agg).ignoreLabels(List.of()));
            int k = 0;
            int w = 0;
            while (w < words.size()) {
                String type = wordLabels.get(w).contains("-") ? wordLabels.get(w).substring(2) : wordLabels.get(w);
                double sum = wordScores.get(w);
                int n = 1;
                int startTok = words.get(w).getFirst();
                w++;
                while (w < words.size() && !wordLabels.get(w).startsWith("B-")
                        && (wordLabels.get(w).contains("-") ? wordLabels.get(w).substring(2) : wordLabels.get(w)).equals(type)) {
                    sum += wordScores.get(w);
                    n++;
                    w++;
                }
                int endTok = words.get(w - 1).getLast();
                Entity en = got.get(k++);
                assertEquals(type, en.entity(), agg + " group " + k);
                close(sum / n, en.score(), agg + " group " + k);
                assertEquals(e.starts()[startTok], en.start(), agg + " group " + k);
                assertEquals(e.ends()[endTok], en.end(), agg + " group " + k);
            }
            assertEquals(k, got.size(), agg.toString());
        }
    }

    @Test
    void longTextsRunInWindowsThatCoverEveryToken() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            sb.append("Le système de fichiers numéro ").append(i).append(" est vérifié au démarrage. ");
        }
        String text = sb.toString().strip();
        Encoding full = tok.encode(text);
        assertTrue(full.length() > 128, "the text must be longer than the model allows");
        ner.warnings(s -> { });
        // every token once (no label ignored): the windows cover the text and the overlap is merged
        List<Entity> all = ner.recognize(text, Options.defaults().ignoreLabels(List.of()).stride(16));
        Set<List<Integer>> expected = new HashSet<>();
        for (int t = 1; t < full.length() - 1; t++) {
            expected.add(List.of(full.starts()[t], full.ends()[t]));
        }
        Set<List<Integer>> got = new HashSet<>();
        int last = -1;
        for (Entity en : all) {
            assertTrue(en.start() > last || en.start() == 0, "sorted, no overlap");
            last = en.start();
            got.add(List.of(en.start(), en.end()));
        }
        assertEquals(expected, got);
        assertEquals(expected.size(), all.size());
        // grouped entities of a long text: in order, inside the text, not overlapping
        List<Entity> groups = ner.recognize(text, Options.defaults().aggregation(Aggregation.SIMPLE));
        assertFalse(groups.isEmpty());
        int end = 0;
        for (Entity en : groups) {
            assertTrue(en.start() >= end && en.end() <= text.length() && en.start() < en.end());
            end = en.end();
        }
    }

    @Test
    void badOptions() {
        assertThrows(IllegalArgumentException.class, () -> Aggregation.parse("longest"));
        assertThrows(IllegalArgumentException.class,
                () -> ner.recognize("x", Options.defaults().ignoreLabels(List.of("B-ORG"))));
    }
}
