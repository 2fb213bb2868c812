package dev.xlmr.doors;

import static dev.xlmr.doors.Doors.REF_TOL;
import static dev.xlmr.doors.Doors.TOL;
import static dev.xlmr.doors.Doors.assertAllClose;
import static dev.xlmr.doors.Doors.assertClose;
import static dev.xlmr.doors.Doors.assertJson;
import static dev.xlmr.doors.Doors.tree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.xlmr.doors.Doors.Cli;
import dev.xlmr.doors.Doors.Server;
import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.pipelines.FillMaskPipeline;
import dev.xlmr.pipelines.MultipleChoicePipeline;
import dev.xlmr.pipelines.QuestionAnsweringPipeline;
import dev.xlmr.pipelines.TokenClassificationPipeline;
import dev.xlmr.pipelines.TokenClassificationPipeline.Aggregation;
import dev.xlmr.pipelines.TokenClassificationPipeline.Entity;
import dev.xlmr.spark.XlmrSentenceEmbeddings;
import dev.xlmr.spark.XlmrTokenClassifier;
import dev.xlmr.spark.XlmrTokenEmbeddings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Token-level tasks and the checkpoints with heads through their doors: NER (xlmr-tokcls: Java API,
 * {@code ./xlmr ner}, the server's {@code /ner}, Spark's {@link XlmrTokenClassifier}), fill-mask (xlmr-mlm) and
 * question answering (xlmr-qa) (Java API, CLI and the server's {@code /fill-mask} and {@code /qa} with the head
 * kept: Spark has no door for them), multiple choice (Java API and CLI), and the sentence and token embeddings of the
 * masked-LM, token-classification and QA checkpoints (Java API, CLI, server, Spark), which the server and NOVA
 * run on the encoder without its head.
 */
class TokenTaskDoorsTest {

    @Test
    void nerThroughEveryDoor() {
        Path dir = Doors.testdata("xlmr-tokcls");
        JsonNode exp = Doors.expected("xlmr-tokcls");
        List<String> texts = Doors.caseTexts(exp);
        try (Server server = Server.withHead(dir)) {
            for (Aggregation agg : List.of(Aggregation.NONE, Aggregation.SIMPLE, Aggregation.FIRST)) {
                List<List<Entity>> want;
                try (TokenClassificationPipeline api = TokenClassificationPipeline.load(dir.toString())) {
                    api.warnings(w -> { });
                    want = api.recognizeAll(texts, TokenClassificationPipeline.Options.defaults().aggregation(agg));
                    if (agg == Aggregation.NONE) {
                        // right: transformers' pipeline (aggregation none, slow tokenizer: entity, score, index, word)
                        for (JsonNode c : exp.get("token_classification_none")) {
                            String text = c.get("input").asText();
                            List<Entity> got = want.get(texts.indexOf(text));
                            assertEquals(c.get("output").size(), got.size(), "entities of " + text);
                            for (int k = 0; k < got.size(); k++) {
                                JsonNode e = c.get("output").get(k);
                                assertEquals(e.get("entity").asText(), got.get(k).entity(), text);
                                assertEquals(e.get("index").asInt(), got.get(k).index(), text);
                                assertEquals(e.get("word").asText(), got.get(k).word(), text);
                                assertEquals(e.get("score").asDouble(), got.get(k).score(), REF_TOL, text);
                            }
                        }
                    }
                }
                List<Object> maps = new ArrayList<>();
                for (int i = 0; i < texts.size(); i++) {
                    String t = texts.get(i);
                    maps.add(want.get(i).stream().map(e -> e.toMap(t)).toList());
                }
                String a = agg.name().toLowerCase(java.util.Locale.ROOT);
                assertJson(tree(maps), cli(Doors.cli(Doors.textLines(texts), "ner", "--model", dir.toString(), "--jsonl",
                        "--aggregation", a)), TOL, "cli ner " + a);
                // the server refuses empty inputs (400, as TEI); the other texts answer as the API does
                List<String> nonEmpty = texts.stream().filter(t -> !t.isEmpty()).toList();
                List<Object> nonEmptyMaps = new ArrayList<>();
                for (int i = 0; i < texts.size(); i++) if (!texts.get(i).isEmpty()) nonEmptyMaps.add(maps.get(i));
                assertJson(tree(nonEmptyMaps), server.post("/ner", Map.of("inputs", nonEmpty,
                        "parameters", Map.of("aggregation_strategy", a))).ok(), TOL, "server /ner " + a);

                List<Row> rows = new XlmrTokenClassifier().setModel(dir.toString()).setAggregation(a)
                        .transform(Doors.frame(texts)).collectAsList();
                for (int i = 0; i < texts.size(); i++) {
                    List<Row> got = Doors.rows(rows.get(i).get(2));
                    List<Entity> w = want.get(i);
                    String where = "spark ner " + a + " #" + i;
                    assertEquals(w.size(), got.size(), where);
                    for (int k = 0; k < w.size(); k++) {
                        Row g = got.get(k);
                        Entity e = w.get(k);
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
    void fillMaskAndQuestionAnsweringThroughTheJavaApiTheCliAndTheServer() {
        Path mlm = Doors.testdata("xlmr-mlm");
        JsonNode exp = Doors.expected("xlmr-mlm");
        List<String> masked = List.of("Paris is the <mask> of France.", "Le <mask> est vérifié au démarrage.",
                "Die <mask> wurde nicht <mask>.");
        List<List<List<FillMaskPipeline.Prediction>>> want;
        try (FillMaskPipeline api = FillMaskPipeline.load(mlm.toString())) {
            api.warnings(w -> { });
            want = api.fillAll(masked, FillMaskPipeline.Options.defaults().topK(5));
            for (JsonNode c : exp.get("fill_mask")) {
                var got = api.fill(c.get("input").asText(), FillMaskPipeline.Options.defaults().topK(c.get("top_k").asInt()));
                assertJson(c.get("output"), tree(got.getFirst().stream().map(FillMaskPipeline.Prediction::toMap).toList()),
                        REF_TOL, "Java API vs transformers: " + c.get("input"));
            }
        }
        List<Object> maps = new ArrayList<>();
        for (var masks : want) {
            List<Object> m = masks.stream().map(ps -> (Object) ps.stream().map(FillMaskPipeline.Prediction::toMap).toList()).toList();
            maps.add(m.size() == 1 ? m.getFirst() : m);
        }
        assertJson(tree(maps), cli(Doors.cli(Doors.textLines(masked), "fill-mask", "--model", mlm.toString(), "--jsonl")),
                TOL, "cli fill-mask");
        try (Server server = Server.withHead(mlm)) {
            assertJson(tree(maps), server.post("/fill-mask", Map.of("inputs", masked, "parameters", Map.of("top_k", 5))).ok(),
                    TOL, "server /fill-mask");
        }

        Path qa = Doors.testdata("xlmr-qa");
        List<String> questions = List.of("Where is the file?", "Wo ist die Datei?", "Qui a écrit ce programme ?");
        List<String> contexts = List.of("The file is in the home directory of the user.", "Die Datei liegt im Heimatverzeichnis.",
                "Ce programme a été écrit par une équipe de bénévoles. ".repeat(40));
        List<Object> answers = new ArrayList<>();
        try (QuestionAnsweringPipeline api = QuestionAnsweringPipeline.load(qa.toString())) {
            api.warnings(w -> { });
            var got = api.answerAll(questions, contexts, QuestionAnsweringPipeline.Options.defaults().topK(2));
            for (int i = 0; i < got.size(); i++) {
                String c = contexts.get(i);
                answers.add(got.get(i).stream().map(a -> a.toMap(c)).toList());
            }
        }
        List<Map<String, String>> lines = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) lines.add(Map.of("question", questions.get(i), "context", contexts.get(i)));
        assertJson(tree(answers), cli(Doors.cli(Doors.jsonl(lines), "qa", "--model", qa.toString(), "--jsonl", "--top-k", "2")),
                TOL, "cli qa");
        // the server answers one object where a question has one answer (transformers' pipeline shape)
        List<Object> served = answers.stream().map(a -> ((List<?>) a).size() == 1 ? ((List<?>) a).getFirst() : a).toList();
        try (Server server = Server.withHead(qa)) {
            assertJson(tree(served), server.post("/qa", Map.of("inputs", lines, "parameters", Map.of("top_k", 2))).ok(),
                    TOL, "server /qa");
        }
    }

    @Test
    void multipleChoiceThroughTheJavaApiAndTheCli() {
        Path dir = Doors.testdata("xlmr-mc");
        JsonNode exp = Doors.expected("xlmr-mc");
        List<String> questions = new ArrayList<>();
        List<List<String>> choices = new ArrayList<>();
        for (JsonNode c : exp.get("cases")) {
            questions.add(c.get("question").asText());
            List<String> cs = new ArrayList<>();
            c.get("choices").forEach(x -> cs.add(x.asText()));
            choices.add(cs);
        }
        List<List<MultipleChoicePipeline.Choice>> want;
        try (MultipleChoicePipeline api = MultipleChoicePipeline.load(dir.toString())) {
            api.warnings(w -> { });
            want = api.chooseAll(questions, choices);
            // right: the softmax of transformers' logits over the choices
            for (int i = 0; i < questions.size(); i++) {
                JsonNode logits = exp.get("cases").get(i).get("logits").get(0);
                double z = 0;
                for (JsonNode l : logits) z += Math.exp(l.asDouble());
                for (MultipleChoicePipeline.Choice ch : want.get(i)) {
                    assertEquals(Math.exp(logits.get(ch.index()).asDouble()) / z, ch.score(), REF_TOL, questions.get(i));
                    assertEquals(choices.get(i).get(ch.index()), ch.choice(), questions.get(i));
                }
            }
        }
        List<Map<String, Object>> lines = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) lines.add(Map.of("question", questions.get(i), "choices", choices.get(i)));
        assertJson(tree(want.stream().map(r -> r.stream().map(MultipleChoicePipeline.Choice::toMap).toList()).toList()),
                cli(Doors.cli(Doors.jsonl(lines), "choice", "--model", dir.toString(), "--jsonl")), TOL, "cli choice");
    }

    @ParameterizedTest
    @ValueSource(strings = {"xlmr-mlm", "xlmr-tokcls", "xlmr-qa"})
    void embeddingsOfCheckpointsWithHeads(String fixture) {
        Path dir = Doors.testdata(fixture);
        JsonNode exp = Doors.expected(fixture);
        List<String> texts = Doors.caseTexts(exp).stream().filter(t -> !t.isBlank()).toList();
        List<float[]> want;
        List<float[][]> tokens;
        try (EmbeddingPipeline api = EmbeddingPipeline.load(dir.toString())) {
            api.warnings(w -> { });
            want = api.embedAll(texts, EmbeddingPipeline.Options.defaults());
            tokens = api.tokenEmbeddings(texts, EmbeddingPipeline.Options.defaults());
            // right: the mean of transformers' last hidden states over the mask
            int checked = 0;
            for (JsonNode c : exp.get("cases")) {
                if (c.has("text_pairs")) continue;
                for (int b = 0; b < c.get("texts").size(); b++) {
                    String text = c.get("texts").get(b).asText();
                    int i = texts.indexOf(text);
                    int n = 0;
                    for (JsonNode m : c.get("attention_mask").get(b)) n += m.asInt();
                    int[] ids = new int[n];
                    for (int t = 0; t < n; t++) ids[t] = c.get("input_ids").get(b).get(t).asInt();
                    if (i < 0 || !Arrays.equals(ids, api.tokenizer().encode(text).ids())) continue; // blank, or slow tokenizer
                    float[] mean = new float[32];
                    for (int t = 0; t < n; t++) {
                        float[] h = Doors.floats(c.get("last_hidden_state").get(b).get(t));
                        assertClose(h, tokens.get(i)[t], REF_TOL, fixture + ": token " + t + " of " + text);
                        for (int d = 0; d < 32; d++) mean[d] += h[d] / n;
                    }
                    assertClose(mean, want.get(i), REF_TOL, fixture + ": Java API vs transformers, " + text);
                    checked++;
                }
            }
            assertTrue(checked >= 6, fixture + ": " + checked + " texts checked against the references");
        }
        List<float[]> cli = new ArrayList<>();
        Cli r = Doors.cli(Doors.textLines(texts), "embed", "--model", dir.toString(), "--jsonl");
        assertEquals(0, r.code(), r.err());
        for (JsonNode l : r.lines()) cli.add(Doors.floats(l.get("embedding")));
        assertAllClose(want, cli, TOL, fixture + " cli");
        try (Server s = Server.start(dir, null)) {
            assertAllClose(want, Doors.vectors(s.post("/embed", Map.of("inputs", texts, "normalize", false)).ok()), TOL,
                    fixture + " /embed");
            JsonNode all = s.post("/embed_all", Map.of("inputs", texts)).ok();
            for (int i = 0; i < texts.size(); i++) {
                assertAllClose(List.of(tokens.get(i)), Doors.vectors(all.get(i)), TOL, fixture + " /embed_all #" + i);
            }
            JsonNode info = s.post("/predict", Map.of("inputs", "x")).json();
            assertTrue(info.get("error").asText().contains("sequence-classification"), "/predict says why: " + info);
        }
        List<Row> rows = new XlmrSentenceEmbeddings().setModel(dir.toString()).transform(Doors.frame(texts)).collectAsList();
        for (int i = 0; i < texts.size(); i++) {
            assertClose(want.get(i), Doors.floats(rows.get(i).get(2)), TOL, fixture + " spark #" + i);
        }
        if (fixture.equals("xlmr-mlm")) {
            // Spark's token embeddings (one entry per subword token, special tokens left out) are the Java API's
            rows = new XlmrTokenEmbeddings().setModel(dir.toString()).setAlignment("none").transform(Doors.frame(texts))
                    .collectAsList();
            for (int i = 0; i < texts.size(); i++) {
                List<Row> got = Doors.rows(rows.get(i).get(2));
                float[][] t = tokens.get(i);
                assertEquals(t.length - 2, got.size(), "spark token embeddings #" + i);
                for (int k = 0; k < got.size(); k++) {
                    assertClose(t[k + 1], Doors.floats(got.get(k).get(3)), TOL, "spark token embeddings #" + i + " token " + k);
                }
            }
        }
    }

    private static JsonNode cli(Cli r) {
        assertEquals(0, r.code(), r.err());
        List<JsonNode> lines = r.lines();
        for (JsonNode l : lines) {
            if (l instanceof ObjectNode o && o.has("error")) throw new AssertionError("cli: " + o);
        }
        return tree(lines);
    }
}
