package dev.xlmr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The task commands: transformers' JSON on stdout, stdin batches, tables, exit codes. */
class TaskCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double TOL = 1e-5;

    static String model(String name) {
        return CliRun.testdata(name).toString();
    }

    static JsonNode expected(String name) throws IOException {
        return JSON.readTree(CliRun.testdata(name).resolve("expected.json").toFile());
    }

    static JsonNode json(String s) throws IOException {
        return JSON.readTree(s);
    }

    @Test
    void fillMaskPrintsTheTransformersArray() throws IOException {
        JsonNode c = expected("xlmr-mlm").get("fill_mask").get(0);
        CliRun r = CliRun.run("", "fill-mask", "--model", model("xlmr-mlm"), "--top-k", "5", c.get("input").asText());
        assertEquals(0, r.code(), r.err());
        JsonNode out = json(r.out());
        JsonNode exp = c.get("output");
        assertEquals(exp.size(), out.size());
        for (int k = 0; k < exp.size(); k++) {
            assertEquals(List.of("score", "token", "token_str", "sequence"), names(out.get(k)));
            assertEquals(exp.get(k).get("token").asInt(), out.get(k).get("token").asInt());
            assertEquals(exp.get(k).get("token_str").asText(), out.get(k).get("token_str").asText());
            assertEquals(exp.get(k).get("sequence").asText(), out.get(k).get("sequence").asText());
            assertEquals(exp.get(k).get("score").asDouble(), out.get(k).get("score").asDouble(), TOL);
        }
    }

    @Test
    void fillMaskFromStdinKeepsLinesAlignedWithErrors() throws IOException {
        String stdin = "Paris is the <mask> of France.\nno mask here\nDie <mask> wurde nicht gefunden.\n";
        CliRun r = CliRun.run(stdin, "fill-mask", "--model", model("xlmr-mlm"), "--top-k", "2");
        assertEquals(1, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(3, lines.size(), r.out());
        assertEquals(2, json(lines.get(0)).size());
        assertTrue(json(lines.get(1)).get("error").asText().startsWith("line 2: no mask token"), lines.get(1));
        assertEquals(expected("xlmr-mlm").get("fill_mask").get(1).get("output").get(0).get("token").asInt(),
                json(lines.get(2)).get(0).get("token").asInt());
        assertTrue(r.err().startsWith("xlmr: line 2: "), r.err());
    }

    @Test
    void embedReadsLinesAndPrintsOneEmbeddingEach() throws IOException {
        JsonNode c = expected("xlmr-base").get("cases").get(0);
        StringBuilder stdin = new StringBuilder();
        c.get("texts").forEach(t -> stdin.append(t.asText()).append('\n'));
        CliRun r = CliRun.run(stdin.toString(), "embed", "--model", model("xlmr-base"));
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(c.get("texts").size(), lines.size());
        for (int i = 0; i < lines.size(); i++) {
            JsonNode e = json(lines.get(i));
            assertEquals(List.of("embedding"), names(e));
            for (int j = 0; j < e.get("embedding").size(); j++) {
                assertEquals(c.get("sentence_embedding").get(i).get(j).asDouble(), e.get("embedding").get(j).asDouble(), TOL);
            }
        }
        r = CliRun.run("Hello world!\n", "embed", "--model", model("xlmr-base"), "--pooling", "none");
        assertEquals(0, r.code(), r.err());
        JsonNode t = json(r.out()).get("token_embeddings");
        JsonNode hidden = c.get("last_hidden_state").get(0);
        assertEquals(hidden.get(1).get(3).asDouble(), t.get(1).get(3).asDouble(), 1e-4);
        r = CliRun.run("Hello world!\n", "embed", "--model", model("xlmr-base"), "--pooling", "cls", "--normalize");
        assertEquals(0, r.code(), r.err());
        double norm = 0;
        for (JsonNode v : json(r.out()).get("embedding")) {
            norm += v.asDouble() * v.asDouble();
        }
        assertEquals(1.0, norm, 1e-5);
        assertEquals(2, CliRun.run("x\n", "embed", "--model", model("xlmr-base"), "--pooling", "median").code());
    }

    @Test
    void classifyAndZeroShot() throws IOException {
        JsonNode c = expected("xlmr-seqcls").get("text_classification").get(0);
        CliRun r = CliRun.run("", "classify", "--model", model("xlmr-seqcls"), "--top-k", "3", c.get("input").asText());
        assertEquals(0, r.code(), r.err());
        JsonNode out = json(r.out());
        for (int k = 0; k < 3; k++) {
            assertEquals(c.get("output").get(k).get("label").asText(), out.get(k).get("label").asText());
            assertEquals(c.get("output").get(k).get("score").asDouble(), out.get(k).get("score").asDouble(), TOL);
        }
        // default: the best label, in an array as transformers gives for one text
        r = CliRun.run("", "classify", "--model", model("xlmr-seqcls"), c.get("input").asText());
        assertEquals(1, json(r.out()).size());
        assertEquals(c.get("output").get(0).get("label").asText(), json(r.out()).get(0).get("label").asText());
        // sigmoid on request
        r = CliRun.run("", "classify", "--model", model("xlmr-seqcls"), "--function-to-apply", "sigmoid", "--top-k", "9",
                c.get("input").asText());
        double sum = 0;
        for (JsonNode l : json(r.out())) {
            sum += l.get("score").asDouble();
        }
        assertTrue(Math.abs(sum - 1) > 1e-3, "sigmoid scores do not sum to 1");
        assertEquals(2, CliRun.run("", "classify", "--model", model("xlmr-seqcls"), "--top-k", "0", "x").code());
        assertEquals(2, CliRun.run("", "classify", "--model", model("xlmr-seqcls"), "--function-to-apply", "tanh", "x").code());

        for (JsonNode z : expected("xlmr-nli").get("zero_shot")) {
            List<String> args = new java.util.ArrayList<>(List.of("zero-shot", "--model", model("xlmr-nli"), "--labels",
                    "technology,sport,politics"));
            if (z.get("multi_label").asBoolean()) {
                args.add("--multi-label");
            }
            args.add(z.get("input").asText());
            r = CliRun.run("", args.toArray(String[]::new));
            assertEquals(0, r.code(), r.err());
            out = json(r.out());
            assertEquals(List.of("sequence", "labels", "scores"), names(out));
            for (int k = 0; k < 3; k++) {
                assertEquals(z.get("output").get("labels").get(k).asText(), out.get("labels").get(k).asText());
                assertEquals(z.get("output").get("scores").get(k).asDouble(), out.get("scores").get(k).asDouble(), TOL);
            }
        }
        assertEquals(2, CliRun.run("", "zero-shot", "--model", model("xlmr-nli"), "x").code());
        assertEquals(2, CliRun.run("", "zero-shot", "--model", model("xlmr-nli"), "--labels", "a", "--template", "none", "x").code());
    }

    @Test
    void nerQaChoiceRerankSimilarity() throws IOException {
        JsonNode c = expected("xlmr-tokcls").get("token_classification_none").get(1);
        CliRun r = CliRun.run(c.get("input").asText() + "\n", "ner", "--model", model("xlmr-tokcls"), "--aggregation", "none");
        assertEquals(0, r.code(), r.err());
        JsonNode out = json(r.out());
        assertEquals(c.get("output").size(), out.size());
        for (int k = 0; k < out.size(); k++) {
            assertEquals(List.of("entity", "score", "index", "word", "start", "end"), names(out.get(k)));
            assertEquals(c.get("output").get(k).get("entity").asText(), out.get(k).get("entity").asText());
            assertEquals(c.get("output").get(k).get("index").asInt(), out.get(k).get("index").asInt());
            assertEquals(c.get("output").get(k).get("score").asDouble(), out.get(k).get("score").asDouble(), TOL);
            assertTrue(out.get(k).get("start").isInt());
        }
        r = CliRun.run("", "ner", "--model", model("xlmr-tokcls"), "--aggregation", "simple", c.get("input").asText());
        assertEquals(0, r.code(), r.err());
        for (JsonNode e : json(r.out())) {
            assertEquals(List.of("entity_group", "score", "word", "start", "end"), names(e));
        }
        assertEquals(2, CliRun.run("", "ner", "--model", model("xlmr-tokcls"), "--aggregation", "longest", "x").code());

        String context = "Die Datei liegt im Heimatverzeichnis des Benutzers.";
        r = CliRun.run("", "qa", "--model", model("xlmr-qa"), "--question", "Wo ist die Datei?", "--context", context);
        assertEquals(0, r.code(), r.err());
        out = json(r.out());
        assertEquals(List.of("score", "start", "end", "answer"), names(out));
        assertEquals(context.substring(out.get("start").asInt(), out.get("end").asInt()), out.get("answer").asText());
        r = CliRun.run(context + "\n" + context + "\n", "qa", "--model", model("xlmr-qa"), "--question", "Wo?", "--top-k", "2");
        assertEquals(0, r.code(), r.err());
        assertEquals(2, r.out().lines().count());
        assertEquals(2, json(r.out().lines().findFirst().orElseThrow()).size());
        assertEquals(2, CliRun.run("", "qa", "--model", model("xlmr-qa"), "--context", context).code());

        r = CliRun.run("", "choice", "--model", model("xlmr-mc"), "--question", "Where is the file?",
                "The file is in the home directory of the user.", "Nothing to see here.", "Una respuesta distinta.");
        assertEquals(0, r.code(), r.err());
        out = json(r.out());
        assertEquals(3, out.size());
        assertEquals(List.of("choice", "index", "score"), names(out.get(0)));
        r = CliRun.run("{\"question\": \"Wo?\", \"choices\": [\"a\", \"b\"]}\n{\"question\": \"x\"}\n", "choice", "--model",
                model("xlmr-mc"));
        assertEquals(1, r.code());
        assertEquals(2, json(r.out().lines().toList().get(0)).size());
        assertTrue(json(r.out().lines().toList().get(1)).has("error"));

        // a three-label classifier is no cross-encoder: a runtime error
        r = CliRun.run("", "rerank", "--model", model("xlmr-seqcls"), "--query", "q", "a", "b");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("xlmr: reranking needs a cross-encoder"), r.err());

        r = CliRun.run("", "similarity", "--model", model("xlmr-base"), "Hello world!", "Hello world!");
        assertEquals(0, r.code(), r.err());
        assertEquals(1.0, json(r.out()).get("similarity").asDouble(), 1e-5);
        r = CliRun.run("a\tb\nonly one\n", "similarity", "--model", model("xlmr-base"));
        assertEquals(1, r.code());
        assertTrue(json(r.out().lines().toList().get(0)).has("similarity"));
        assertTrue(json(r.out().lines().toList().get(1)).has("error"));
    }

    @Test
    void tablesHelpAndErrors() {
        CliRun r = CliRun.run("", "fill-mask", "--model", model("xlmr-mlm"), "--format", "table", "Paris is the <mask> of France.");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("token_str") && r.out().contains("position"), r.out());
        r = CliRun.run("", "classify", "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("Example:"), r.out());
        r = CliRun.run("", "fill-mask", "--model", model("xlmr-mlm"));
        assertEquals(0, r.code(), "no input at all: no output, as tokenize");
        assertEquals("", r.out());
        r = CliRun.run("", "fill-mask", "--model", model("xlmr-seqcls"), "a <mask>");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("xlmr: this task needs a model with a [masked_lm] head"), r.err());
        r = CliRun.run("", "fill-mask", "--model", "/no/such/folder", "a <mask>");
        assertEquals(1, r.code());
    }

    static List<String> names(JsonNode n) {
        List<String> out = new java.util.ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
