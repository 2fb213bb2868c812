package dev.xlmr.doors;

import static dev.xlmr.doors.Doors.REF_TOL;
import static dev.xlmr.doors.Doors.TOL;
import static dev.xlmr.doors.Doors.assertJson;
import static dev.xlmr.doors.Doors.tree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.doors.Doors.Cli;
import dev.xlmr.doors.Doors.Server;
import dev.xlmr.pipelines.TextClassificationPipeline;
import dev.xlmr.pipelines.TextClassificationPipeline.Function;
import dev.xlmr.pipelines.TextClassificationPipeline.Label;
import dev.xlmr.pipelines.ZeroShotClassificationPipeline;
import dev.xlmr.spark.XlmrSequenceClassifier;
import dev.xlmr.spark.XlmrZeroShotClassifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * Sequence classification (xlmr-seqcls: texts, text pairs, raw logits) and zero-shot classification
 * (xlmr-nli) through the Java API, {@code ./xlmr classify} and {@code zero-shot}, the server's {@code /predict} and {@code /zero-shot}
 * and Spark's classifiers: labels and their order identical, scores within {@link Doors#TOL}, and the Java API
 * equal to transformers' pipelines and logits in expected.json.
 */
class ClassifierDoorsTest {

    /** Texts and text pairs of the fixture's cases. */
    private record Inputs(List<String> texts, List<String> pairTexts, List<String> pairs) {}

    private static Inputs inputs(JsonNode exp) {
        List<String> texts = Doors.caseTexts(exp);
        List<String> pt = new ArrayList<>();
        List<String> pp = new ArrayList<>();
        for (JsonNode c : exp.get("cases")) {
            if (!c.has("text_pairs")) continue;
            for (int i = 0; i < c.get("texts").size(); i++) {
                pt.add(c.get("texts").get(i).asText());
                pp.add(c.get("text_pairs").get(i).asText());
            }
        }
        return new Inputs(texts, pt, pp);
    }

    private static JsonNode labels(List<List<Label>> all) {
        return tree(all.stream().map(ls -> ls.stream().map(Label::toMap).toList()).toList());
    }

    @Test
    void sequenceClassificationThroughEveryDoor() {
        Path dir = Doors.testdata("xlmr-seqcls");
        JsonNode exp = Doors.expected("xlmr-seqcls");
        Inputs in = inputs(exp);
        TextClassificationPipeline.Options all = TextClassificationPipeline.Options.all();
        List<List<Label>> scored;
        List<List<Label>> raw;
        List<List<Label>> pairs;
        try (TextClassificationPipeline api = TextClassificationPipeline.load(dir.toString())) {
            api.warnings(w -> { });
            scored = api.classifyAll(in.texts(), null, all);
            raw = api.classifyAll(in.texts(), null, all.function(Function.NONE));
            pairs = api.classifyAll(in.pairTexts(), in.pairs(), all);
            // right: transformers' pipeline (top_k None) and logits
            for (JsonNode c : exp.get("text_classification")) {
                int i = in.texts().indexOf(c.get("input").asText());
                assertJson(c.get("output"), tree(scored.get(i).stream().map(Label::toMap).toList()), REF_TOL,
                        "Java API vs transformers: " + c.get("input"));
            }
            assertLogits(exp, in, api, raw);
        }
        JsonNode scoredJson = labels(scored);
        JsonNode rawJson = labels(raw);
        JsonNode pairsJson = labels(pairs);

        // the CLI
        String stdin = Doors.textLines(in.texts());
        assertJson(scoredJson, cli(Doors.cli(stdin, "classify", "--model", dir.toString(), "--jsonl", "--top-k", "3")),
                TOL, "cli classify");
        assertJson(rawJson, cli(Doors.cli(stdin, "classify", "--model", dir.toString(), "--jsonl", "--top-k", "3",
                "--function-to-apply", "none")), TOL, "cli classify --function-to-apply none");
        List<Map<String, String>> pairLines = new ArrayList<>();
        for (int i = 0; i < in.pairTexts().size(); i++) {
            pairLines.add(Map.of("text", in.pairTexts().get(i), "text_pair", in.pairs().get(i)));
        }
        assertJson(pairsJson, cli(Doors.cli(Doors.jsonl(pairLines), "classify", "--model", dir.toString(), "--jsonl",
                "--top-k", "3")), TOL, "cli classify pairs");

        // the server's /predict (TEI: every label, best first)
        try (Server s = Server.start(dir, null)) {
            // blank inputs are TEI's 400 Empty: the others
            List<Integer> at = Doors.served(in.texts());
            List<List<String>> one = Doors.pick(in.texts(), at).stream().map(List::of).toList();
            assertJson(Doors.pick(scoredJson, at), s.post("/predict", Map.of("inputs", one)).ok(), TOL, "/predict");
            assertJson(Doors.pick(rawJson, at), s.post("/predict", Map.of("inputs", one, "raw_scores", true)).ok(), TOL,
                    "/predict raw_scores");
            List<List<String>> two = new ArrayList<>();
            for (int i = 0; i < in.pairTexts().size(); i++) two.add(List.of(in.pairTexts().get(i), in.pairs().get(i)));
            assertJson(pairsJson, s.post("/predict", Map.of("inputs", two)).ok(), TOL, "/predict pairs");
            assertJson(scoredJson.get(0), s.post("/predict", Map.of("inputs", in.texts().get(0))).ok(), TOL, "/predict one text");
            JsonNode err = s.post("/embed", Map.of("inputs", "x")).json();
            assertTrue(err.get("error").asText().contains("embedding"), "a classifier's /embed says why: " + err);
        }

        // Spark: blank texts give null there (documented)
        List<Row> rows = new XlmrSequenceClassifier().setModel(dir.toString()).transform(Doors.frame(in.texts())).collectAsList();
        assertSpark(in.texts(), scored, rows, "spark");
        rows = new XlmrSequenceClassifier().setModel(dir.toString()).setFunctionToApply("none")
                .transform(Doors.frame(in.texts())).collectAsList();
        assertSpark(in.texts(), raw, rows, "spark functionToApply none");
        List<Row> pr = new ArrayList<>();
        for (int i = 0; i < in.pairTexts().size(); i++) pr.add(RowFactory.create(i, in.pairTexts().get(i), in.pairs().get(i)));
        StructType schema = Doors.TEXTS.add("other", DataTypes.StringType, true);
        Dataset<Row> df = Doors.spark().createDataFrame(
                JavaSparkContext.fromSparkContext(Doors.spark().sparkContext()).parallelize(pr, 1), schema);
        rows = new XlmrSequenceClassifier().setModel(dir.toString()).setTextPairCol("other").transform(df).collectAsList();
        assertSpark(in.pairTexts(), pairs, rows.stream().map(r -> RowFactory.create(r.get(0), r.get(1), r.get(3))).toList(),
                "spark text pairs");
    }

    /** The Java API's raw scores are the logits of transformers (expected.json), label by label. */
    private static void assertLogits(JsonNode exp, Inputs in, TextClassificationPipeline api, List<List<Label>> raw) {
        Map<Integer, String> id2label = api.config().id2label();
        int at = 0;
        for (JsonNode c : exp.get("cases")) {
            if (c.has("text_pairs")) continue;
            for (int b = 0; b < c.get("texts").size(); b++, at++) {
                int[] ids = new int[(int) java.util.stream.StreamSupport.stream(c.get("attention_mask").get(b).spliterator(), false)
                        .filter(m -> m.asInt() == 1).count()];
                for (int t = 0; t < ids.length; t++) ids[t] = c.get("input_ids").get(b).get(t).asInt();
                if (!java.util.Arrays.equals(ids, api.tokenizer().encode(in.texts().get(at)).ids())) continue; // slow tokenizer
                for (Label l : raw.get(at)) {
                    int k = id2label.entrySet().stream().filter(e -> e.getValue().equals(l.label())).findFirst().orElseThrow().getKey();
                    assertEquals(c.get("logits").get(b).get(k).asDouble(), l.score(), REF_TOL, "logit " + l.label() + " of text " + at);
                }
            }
        }
    }

    private static JsonNode cli(Cli r) {
        assertEquals(0, r.code(), r.err());
        return tree(r.lines());
    }

    /** Spark rows (id, text, struct(label, score, scores)) against the Java API's labels. */
    private static void assertSpark(List<String> texts, List<List<Label>> want, List<Row> rows, String where) {
        assertEquals(texts.size(), rows.size(), where);
        for (int i = 0; i < texts.size(); i++) {
            Row r = rows.get(i);
            assertEquals(i, r.getInt(0), where);
            if (texts.get(i).isBlank()) {
                assertNull(r.get(2), where + " #" + i + ": a blank text gives null");
                continue;
            }
            Row p = r.getStruct(2);
            List<Label> w = want.get(i);
            assertEquals(w.getFirst().label(), p.getString(0), where + " #" + i);
            assertEquals(w.getFirst().score(), p.getDouble(1), TOL, where + " #" + i);
            Map<String, Double> m = scala.jdk.javaapi.CollectionConverters.asJava(p.<String, Double>getMap(2));
            assertEquals(w.stream().map(Label::label).toList(), new ArrayList<>(m.keySet()), where + " #" + i + ": labels best first");
            for (Label l : w) assertEquals(l.score(), m.get(l.label()), TOL, where + " #" + i + " " + l.label());
        }
    }

    @Test
    void zeroShotThroughEveryDoor() {
        Path dir = Doors.testdata("xlmr-nli");
        JsonNode exp = Doors.expected("xlmr-nli");
        List<String> texts = Doors.caseTexts(exp).stream().filter(t -> !t.isBlank()).toList();
        List<String> labels = List.of("technology", "sport", "politics");
        Map<Boolean, List<ZeroShotClassificationPipeline.Result>> want = new LinkedHashMap<>();
        try (ZeroShotClassificationPipeline api = ZeroShotClassificationPipeline.load(dir.toString())) {
            api.warnings(w -> { });
            for (boolean multi : List.of(false, true)) {
                want.put(multi, api.classifyAll(texts, labels, ZeroShotClassificationPipeline.Options.defaults().multiLabel(multi)));
            }
            // right: transformers' zero-shot pipeline
            for (JsonNode c : exp.get("zero_shot")) {
                List<String> cl = new ArrayList<>();
                c.get("candidate_labels").forEach(l -> cl.add(l.asText()));
                var r = api.classify(c.get("input").asText(), cl, new ZeroShotClassificationPipeline.Options(
                        c.get("hypothesis_template").asText(), c.get("multi_label").asBoolean()));
                assertJson(c.get("output"), tree(r.toMap()), REF_TOL, "Java API vs transformers: " + c.get("input"));
            }
        }
        String stdin = Doors.textLines(texts);
        for (boolean multi : List.of(false, true)) {
            JsonNode w = tree(want.get(multi).stream().map(ZeroShotClassificationPipeline.Result::toMap).toList());
            List<String> args = new ArrayList<>(List.of("zero-shot", "--model", dir.toString(), "--jsonl",
                    "--labels", String.join(",", labels)));
            if (multi) args.add("--multi-label");
            assertJson(w, cli(Doors.cli(stdin, args.toArray(String[]::new))), TOL, "cli zero-shot multi " + multi);

            List<Row> rows = new XlmrZeroShotClassifier().setModel(dir.toString()).setCandidateLabels(labels.toArray(String[]::new))
                    .setMultiLabel(multi).transform(Doors.frame(texts)).collectAsList();
            for (int i = 0; i < texts.size(); i++) {
                var r = want.get(multi).get(i);
                List<Label> ls = new ArrayList<>();
                for (int k = 0; k < r.labels().size(); k++) ls.add(new Label(r.labels().get(k), r.scores().get(k)));
                assertSpark(List.of(texts.get(i)), List.of(ls), List.of(RowFactory.create(0, texts.get(i), rows.get(i).get(2))),
                        "spark zero-shot multi " + multi + " #" + i);
            }
        }

        // the server serves the NLI model as a classifier: zero-shot from /predict's raw logits of (text, hypothesis)
        // pairs, as a client computes it, gives the pipeline's answer
        try (Server s = Server.start(dir, null)) {
            for (int i = 0; i < texts.size(); i++) {
                List<List<String>> two = new ArrayList<>();
                for (String l : labels) two.add(List.of(texts.get(i), "This example is " + l + "."));
                JsonNode logits = s.post("/predict", Map.of("inputs", two, "raw_scores", true)).ok();
                double[] ent = new double[labels.size()];
                double[] con = new double[labels.size()];
                for (int k = 0; k < labels.size(); k++) {
                    for (JsonNode p : logits.get(k)) {
                        if (p.get("label").asText().equals("entailment")) ent[k] = p.get("score").asDouble();
                        if (p.get("label").asText().equals("contradiction")) con[k] = p.get("score").asDouble();
                    }
                }
                for (boolean multi : List.of(false, true)) {
                    var r = want.get(multi).get(i);
                    double z = 0;
                    for (double e : ent) z += Math.exp(e);
                    for (int k = 0; k < labels.size(); k++) {
                        int l = labels.indexOf(r.labels().get(k));
                        double p = multi ? 1 / (1 + Math.exp(con[l] - ent[l])) : Math.exp(ent[l]) / z;
                        assertEquals(r.scores().get(k), p, TOL, "/predict zero-shot multi " + multi + " text " + i);
                    }
                }
            }
            // and the task route, which runs the pipeline itself
            for (boolean multi : List.of(false, true)) {
                JsonNode w = tree(want.get(multi).stream().map(ZeroShotClassificationPipeline.Result::toMap).toList());
                assertJson(w, s.post("/zero-shot", Map.of("inputs", texts, "parameters",
                        Map.of("candidate_labels", labels, "multi_label", multi))).ok(), TOL, "/zero-shot multi " + multi);
            }
        }
    }
}
