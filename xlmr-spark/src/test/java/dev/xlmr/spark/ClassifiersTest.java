package dev.xlmr.spark;

import static dev.xlmr.spark.TestSpark.SPARK;
import static dev.xlmr.spark.TestSpark.frame;
import static dev.xlmr.spark.TestSpark.model;
import static dev.xlmr.spark.TestSpark.rows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.pipelines.TextClassificationPipeline;
import dev.xlmr.pipelines.TokenClassificationPipeline;
import dev.xlmr.pipelines.ZeroShotClassificationPipeline;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

class ClassifiersTest {
    /** Batches differ from the direct pipeline run; the fast engine's sums depend on the batch by float rounding. */
    private static final double TOL = 1e-6;

    /** Some corpus lines in 15 languages, a few long ones (truncated or windowed), and edge cases. */
    private static List<String> texts() {
        List<String> t = new ArrayList<>(TestSpark.corpus().subList(0, 20));
        t.addAll(TestSpark.corpus().subList(1000, 1060));
        TestSpark.corpus().stream().filter(s -> s.length() > 900).limit(2).forEach(t::add);
        t.add(5, null);
        return t;
    }

    private static List<String> work(List<String> texts) {
        return texts.stream().filter(s -> s != null && !s.isBlank()).toList();
    }

    private static void assertResult(List<String> labels, List<Double> scores, Row r, String where) {
        assertEquals(labels.get(0), r.getString(0), where);
        assertEquals(scores.get(0), r.getDouble(1), TOL, where);
        Map<String, Double> m = scala.jdk.javaapi.CollectionConverters.asJava(r.<String, Double>getMap(2));
        assertEquals(labels, new ArrayList<>(m.keySet()), where + ": labels best first");
        for (int k = 0; k < labels.size(); k++) {
            assertEquals(scores.get(k), m.get(labels.get(k)), TOL, where);
        }
    }

    @Test
    void sequenceClassificationAsThePipeline() {
        List<String> texts = texts();
        List<Row> out = new XlmrSequenceClassifier().setModel(model("xlmr-seqcls")).setBatchSize(7)
                .transform(frame(texts, 10, 1, texts.size() - 11)).collectAsList();
        try (TextClassificationPipeline p = TextClassificationPipeline.load(model("xlmr-seqcls"))) {
            p.warnings(s -> { });
            List<List<TextClassificationPipeline.Label>> want = p.classifyAll(work(texts), null,
                    TextClassificationPipeline.Options.all());
            int k = 0;
            for (int i = 0; i < texts.size(); i++) {
                assertEquals(i, out.get(i).getInt(0));
                if (texts.get(i) == null || texts.get(i).isBlank()) {
                    assertNull(out.get(i).get(2), "row " + i);
                    continue;
                }
                List<TextClassificationPipeline.Label> w = want.get(k++);
                assertResult(w.stream().map(TextClassificationPipeline.Label::label).toList(),
                        w.stream().map(TextClassificationPipeline.Label::score).toList(), out.get(i).getStruct(2), "row " + i);
            }
        }
    }

    @Test
    void textPairsAndAFunction() {
        StructType schema = new StructType().add("text", DataTypes.StringType).add("other", DataTypes.StringType);
        List<Row> in = List.of(RowFactory.create("Hello world!", "Bonjour le monde !"),
                RowFactory.create("Wo ist die Datei?", null), RowFactory.create(null, "x"));
        List<Row> out = new XlmrSequenceClassifier().setModel(model("xlmr-seqcls")).setTextPairCol("other")
                .setFunctionToApply("sigmoid").transform(SPARK.createDataFrame(in, schema)).collectAsList();
        try (TextClassificationPipeline p = TextClassificationPipeline.load(model("xlmr-seqcls"))) {
            TextClassificationPipeline.Options o = TextClassificationPipeline.Options.all()
                    .function(TextClassificationPipeline.Function.SIGMOID);
            for (int i = 0; i < 2; i++) {
                List<TextClassificationPipeline.Label> w = p.classify(in.get(i).getString(0), in.get(i).getString(1), o);
                assertResult(w.stream().map(TextClassificationPipeline.Label::label).toList(),
                        w.stream().map(TextClassificationPipeline.Label::score).toList(), out.get(i).getStruct(2), "row " + i);
            }
        }
        assertNull(out.get(2).get(2));
    }

    @Test
    void tokenClassificationAsThePipeline() {
        List<String> texts = texts();
        for (String aggregation : List.of("none", "simple", "average")) {
            List<Row> out = new XlmrTokenClassifier().setModel(model("xlmr-tokcls")).setAggregation(aggregation)
                    .setIgnoreLabels(new String[0]).transform(frame(texts, 2, texts.size() - 2)).collectAsList();
            try (TokenClassificationPipeline p = TokenClassificationPipeline.load(model("xlmr-tokcls"))) {
                List<List<TokenClassificationPipeline.Entity>> want = p.recognizeAll(work(texts),
                        TokenClassificationPipeline.Options.defaults().ignoreLabels(List.of())
                                .aggregation(TokenClassificationPipeline.Aggregation.parse(aggregation)));
                int k = 0;
                for (int i = 0; i < texts.size(); i++) {
                    String where = aggregation + " row " + i;
                    if (texts.get(i) == null) {
                        assertNull(out.get(i).get(2), where);
                        continue;
                    }
                    List<Row> got = rows(out.get(i).get(2));
                    if (texts.get(i).isBlank()) {
                        assertEquals(0, got.size(), where);
                        continue;
                    }
                    List<TokenClassificationPipeline.Entity> w = want.get(k++);
                    assertEquals(w.size(), got.size(), where);
                    assertTrue(!w.isEmpty(), where);
                    for (int j = 0; j < w.size(); j++) {
                        TokenClassificationPipeline.Entity e = w.get(j);
                        Row g = got.get(j);
                        assertEquals(e.entity(), g.getString(0), where);
                        assertEquals(e.score(), g.getDouble(1), TOL, where);
                        assertEquals(e.grouped() ? null : e.index(), g.get(2), where);
                        assertEquals(e.word(), g.getString(3), where);
                        assertEquals(e.start(), g.getInt(4), where);
                        assertEquals(e.end(), g.getInt(5), where);
                    }
                }
            }
        }
    }

    @Test
    void zeroShotAsThePipeline() {
        List<String> texts = texts().subList(0, 30);
        List<String> labels = List.of("technology", "sport", "politics");
        for (boolean multi : List.of(false, true)) {
            List<Row> out = new XlmrZeroShotClassifier().setModel(model("xlmr-nli"))
                    .setCandidateLabels(new String[] {" technology", "sport", "", "politics "}).setMultiLabel(multi)
                    .setBatchSize(4).transform(frame(texts, 13, 17)).collectAsList();
            try (ZeroShotClassificationPipeline p = ZeroShotClassificationPipeline.load(model("xlmr-nli"))) {
                p.warnings(s -> { });
                List<ZeroShotClassificationPipeline.Result> want = p.classifyAll(work(texts), labels,
                        ZeroShotClassificationPipeline.Options.defaults().multiLabel(multi));
                int k = 0;
                for (int i = 0; i < texts.size(); i++) {
                    if (texts.get(i) == null || texts.get(i).isBlank()) {
                        assertNull(out.get(i).get(2));
                        continue;
                    }
                    ZeroShotClassificationPipeline.Result w = want.get(k++);
                    assertResult(w.labels(), w.scores(), out.get(i).getStruct(2), "multi " + multi + " row " + i);
                }
            }
        }
    }

    @Test
    void saveAndLoadKeepTheParams() throws Exception {
        String dir = TestSpark.tempDir().toString();
        XlmrSequenceClassifier s = new XlmrSequenceClassifier().setModel(model("xlmr-seqcls")).setTextPairCol("p")
                .setFunctionToApply("NONE").setOutputCol("c");
        s.save(dir + "/s");
        XlmrSequenceClassifier s2 = XlmrSequenceClassifier.load(dir + "/s");
        assertEquals("p", s2.getTextPairCol());
        assertEquals("none", s2.getFunctionToApply());
        assertEquals("c", s2.getOutputCol());

        XlmrTokenClassifier t = new XlmrTokenClassifier().setModel(model("xlmr-tokcls")).setAggregation("MAX")
                .setIgnoreLabels(new String[] {"O", "B-LOC"}).setStride(8);
        t.save(dir + "/t");
        XlmrTokenClassifier t2 = XlmrTokenClassifier.load(dir + "/t");
        assertEquals("max", t2.getAggregation());
        assertArrayEquals(new String[] {"O", "B-LOC"}, t2.getIgnoreLabels());
        assertEquals(8, t2.getStride());

        XlmrZeroShotClassifier z = new XlmrZeroShotClassifier().setModel(model("xlmr-nli"))
                .setCandidateLabels(List.of("a", "b")).setHypothesisTemplate("Es geht um {}.").setMultiLabel(true);
        z.save(dir + "/z");
        XlmrZeroShotClassifier z2 = XlmrZeroShotClassifier.load(dir + "/z");
        assertArrayEquals(new String[] {"a", "b"}, z2.getCandidateLabels());
        assertEquals("Es geht um {}.", z2.getHypothesisTemplate());
        assertTrue(z2.getMultiLabel());
        assertEquals(model("xlmr-nli"), z2.getModel());
    }

    @Test
    void clearErrors() {
        Dataset<Row> df = frame(List.of("Hello world!"), 1);
        // a base model has no classification head: said on the executor, with the model
        SparkException head = assertThrows(SparkException.class,
                () -> new XlmrSequenceClassifier().setModel(model("xlmr-base")).transform(df).collect());
        assertTrue(head.getMessage().contains("the model '" + model("xlmr-base") + "'"), head.getMessage());
        assertTrue(head.getMessage().contains("needs a model with a [sequence_classification] head"), head.getMessage());

        IllegalArgumentException noLabels = assertThrows(IllegalArgumentException.class,
                () -> new XlmrZeroShotClassifier().setModel(model("xlmr-nli")).transform(df));
        assertTrue(noLabels.getMessage().contains("no candidate labels"), noLabels.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new XlmrZeroShotClassifier().setCandidateLabels(new String[] {" "}));
        IllegalArgumentException template = assertThrows(IllegalArgumentException.class,
                () -> new XlmrZeroShotClassifier().setHypothesisTemplate("no placeholder"));
        assertTrue(template.getMessage().contains("has no {}"), template.getMessage());

        IllegalArgumentException pairCol = assertThrows(IllegalArgumentException.class,
                () -> new XlmrSequenceClassifier().setModel(model("xlmr-seqcls")).setTextPairCol("nope").transform(df));
        assertTrue(pairCol.getMessage().contains("the text pair column 'nope' does not exist"), pairCol.getMessage());

        IllegalArgumentException agg = assertThrows(IllegalArgumentException.class,
                () -> new XlmrTokenClassifier().setAggregation("longest"));
        assertTrue(agg.getMessage().contains("unknown aggregation 'longest'"), agg.getMessage());

        SparkException ignore = assertThrows(SparkException.class, () -> new XlmrTokenClassifier()
                .setModel(model("xlmr-tokcls")).setIgnoreLabels(new String[] {"B-ORG"}).transform(df).collect());
        assertTrue(ignore.getMessage().contains("unknown label 'B-ORG'"), ignore.getMessage());
    }
}
