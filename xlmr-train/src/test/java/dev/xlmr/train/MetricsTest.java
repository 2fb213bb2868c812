package dev.xlmr.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The metrics against the values their reference libraries document. */
class MetricsTest {
    @Test
    void accuracyAndMacroF1AsScikitLearn() {
        // scikit-learn's f1_score docstring: y_true [0,1,2,0,1,2], y_pred [0,2,1,0,0,1], macro 0.26666...
        int[] truth = {0, 1, 2, 0, 1, 2};
        int[] pred = {0, 2, 1, 0, 0, 1};
        assertEquals(0.26666666666666666, Metrics.macroF1(pred, truth), 1e-15);
        assertEquals(2.0 / 6, Metrics.accuracy(pred, truth), 1e-15);
    }

    @Test
    void seqevalAsItsReadme() {
        // seqeval's README example: precision, recall and f1 0.5, accuracy 0.8
        List<List<String>> truth = List.of(List.of("O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"),
                List.of("B-PER", "I-PER", "O"));
        List<List<String>> pred = List.of(List.of("O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"),
                List.of("B-PER", "I-PER", "O"));
        Map<String, Double> m = Metrics.seqeval(pred, truth);
        assertEquals(0.5, m.get("precision"), 1e-15);
        assertEquals(0.5, m.get("recall"), 1e-15);
        assertEquals(0.5, m.get("f1"), 1e-15);
        assertEquals(0.8, m.get("accuracy"), 1e-15);
        // an I- after O starts an entity (conlleval's lenient default mode)
        assertEquals(List.of(new Metrics.Chunk("PER", 1, 2), new Metrics.Chunk("LOC", 3, 3)),
                Metrics.chunks(List.of("O", "I-PER", "I-PER", "B-LOC")));
    }

    @Test
    void squadAsTheOfficialScript() {
        // normalize_answer drops case, punctuation and articles; F1 counts shared tokens
        assertEquals("eiffel tower", Metrics.normalize("The Eiffel  Tower!"));
        Map<String, Double> m = Metrics.squad(List.of("the Eiffel Tower", "in Paris France", ""),
                List.of(List.of("Eiffel Tower"), List.of("Paris", "Paris, France"), List.of()));
        assertEquals(100.0 * 2 / 3, m.get("exact_match"), 1e-12); // 1 + 0 + 1 (v2: empty prediction for no answer)
        // second: best of f1("in paris france", "paris") = 0.5 and ("paris france") = 0.8
        assertEquals(100.0 * (1 + 0.8 + 1) / 3, m.get("f1"), 1e-12);
    }
}
