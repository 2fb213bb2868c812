package dev.xlmr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code xlmr forward}: JSON lines in, outputs named as in transformers out, exit codes 0/1/2. */
class ForwardCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    record Result(int exit, List<String> out, String err) {}

    static Path fixture(String name) {
        return Path.of(System.getProperty("xlmr.testdata")).resolve(name);
    }

    /** Runs the command line in-process. */
    static Result run(String stdin, String... args) {
        CliRun r = CliRun.run(stdin, args);
        return new Result(r.code(), r.out().lines().toList(), r.err());
    }

    static JsonNode expectedCase(String folder, int i) throws IOException {
        return JSON.readTree(fixture(folder).resolve("expected.json").toFile()).get("cases").get(i);
    }

    static String inputLine(JsonNode c, boolean wrapChoices) {
        JsonNode ids = c.get("input_ids");
        JsonNode mask = c.get("attention_mask");
        return wrapChoices
                ? "{\"input_ids\": [" + ids + "], \"attention_mask\": [" + mask + "]}"
                : "{\"input_ids\": " + ids + ", \"attention_mask\": " + mask + "}";
    }

    static void assertClose(JsonNode expected, JsonNode actual, String where) {
        if (expected.isArray()) {
            assertTrue(actual.isArray(), where);
            assertEquals(expected.size(), actual.size(), where + " size");
            for (int i = 0; i < expected.size(); i++) {
                assertClose(expected.get(i), actual.get(i), where + "[" + i + "]");
            }
        } else {
            assertEquals(expected.doubleValue(), actual.doubleValue(), 1e-4, where);
        }
    }

    /** Hidden states and attentions against the PyTorch reference of xlmr-model's test resources. */
    @Test
    void hiddenStatesAndAttentionsOnRequest() throws IOException {
        JsonNode ref = JSON.readTree(Path.of("..", "xlmr-model", "src", "test", "resources", "outputs", "expected.json")
                .toFile()).get("cases").get(0);
        assertEquals("xlmr-base", ref.get("model").asText());
        String line = inputLine(ref, false);
        Result r = run(line + "\n", "forward", "--model", fixture("xlmr-base").toString(), "--output-hidden-states",
                "--output-attentions");
        assertEquals(0, r.exit(), r.err());
        JsonNode out = JSON.readTree(r.out().get(0));
        assertClose(ref.get("hidden_states"), out.get("hidden_states"), "hidden_states");
        assertClose(ref.get("attentions"), out.get("attentions"), "attentions");
        // per line: the field asks for one of them without the flags
        String attentionsOnly = line.substring(0, line.length() - 1) + ", \"output_attentions\": true}";
        r = run(attentionsOnly + "\n", "forward", "--model", fixture("xlmr-base").toString());
        out = JSON.readTree(r.out().get(0));
        assertEquals(List.of("last_hidden_state", "pooler_output", "attentions"), iterable(out));
        assertClose(ref.get("attentions"), out.get("attentions"), "attentions from the line");
        r = run(line.substring(0, line.length() - 1) + ", \"output_attentions\": 3}\n", "forward", "--model",
                fixture("xlmr-base").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("output_attentions must be true or false"), r.err());
    }

    @Test
    void sequenceClassificationWithABadLineInTheMiddle() throws IOException {
        JsonNode c0 = expectedCase("xlmr-seqcls", 0);
        JsonNode c3 = expectedCase("xlmr-seqcls", 3);
        String stdin = inputLine(c0, false) + "\n"
                + "{\"input_ids\": [[0, 99999, 2]]}\n"
                + "{not json\n"
                + "\n"
                + "{\"input_ids\": [[0, 1.5, 2]]}\n"
                + inputLine(c3, false) + "\n";
        Result r = run(stdin, "forward", "--model", fixture("xlmr-seqcls").toString());
        assertEquals(1, r.exit(), r.err());
        // one output line per input line: bad lines give {"error": ...} so outputs stay aligned
        assertEquals(5, r.out().size(), r.out().toString());
        assertTrue(JSON.readTree(r.out().get(1)).get("error").asText().startsWith("line 2: "), r.out().get(1));
        JsonNode first = JSON.readTree(r.out().get(0));
        assertEquals(List.of("last_hidden_state", "logits"), iterable(first));
        assertClose(c0.get("logits"), first.get("logits"), "case 0 logits");
        assertClose(c0.get("last_hidden_state"), first.get("last_hidden_state"), "case 0 hidden");
        assertClose(c3.get("logits"), JSON.readTree(r.out().get(4)).get("logits"), "case 3 logits");
        List<String> errs = r.err().lines().toList();
        assertEquals(3, errs.size(), r.err());
        assertTrue(errs.get(0).startsWith("xlmr: line 2: input_ids[0][1] = 99999 is outside the vocabulary"), errs.get(0));
        assertTrue(errs.get(1).startsWith("xlmr: line 3: not valid JSON"), errs.get(1));
        assertTrue(errs.get(2).startsWith("xlmr: line 5: input_ids[0][1] is not an integer"), errs.get(2));
    }

    @Test
    void everyOutputOfTheArchitecture() throws IOException {
        JsonNode base = expectedCase("xlmr-base", 2);
        Result r = run(inputLine(base, false), "forward", "--model", fixture("xlmr-base").toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode out = JSON.readTree(r.out().get(0));
        assertEquals(List.of("last_hidden_state", "pooler_output"), iterable(out));
        assertClose(base.get("pooler_output"), out.get("pooler_output"), "pooler_output");

        JsonNode qa = expectedCase("xlmr-qa", 1);
        r = run(inputLine(qa, false), "forward", "--model", fixture("xlmr-qa").toString());
        assertEquals(0, r.exit(), r.err());
        out = JSON.readTree(r.out().get(0));
        assertEquals(List.of("last_hidden_state", "start_logits", "end_logits"), iterable(out));
        assertClose(qa.get("start_logits"), out.get("start_logits"), "start_logits");
        assertClose(qa.get("end_logits"), out.get("end_logits"), "end_logits");

        JsonNode mc = expectedCase("xlmr-mc", 0);
        r = run(inputLine(mc, true), "forward", "--model", fixture("xlmr-mc").toString());
        assertEquals(0, r.exit(), r.err());
        out = JSON.readTree(r.out().get(0));
        assertClose(mc.get("logits"), out.get("logits"), "multiple choice logits");

        JsonNode mlm = expectedCase("xlmr-mlm", 2);
        r = run(inputLine(mlm, false), "forward", "--model", fixture("xlmr-mlm").toString());
        assertEquals(0, r.exit(), r.err());
        out = JSON.readTree(r.out().get(0));
        JsonNode row = mlm.get("logits_rows").get(0);
        assertClose(row.get("values"), out.get("logits").get(row.get("batch").intValue()).get(row.get("position").intValue()), "mlm row");
    }

    @Test
    void multipleChoiceNeedsChoices() {
        Result r = run("{\"input_ids\": [[0, 5, 2]]}\n", "forward", "--model", fixture("xlmr-mc").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("xlmr: line 1: "), r.err());
        assertEquals(1, r.out().size());
        assertTrue(r.out().get(0).startsWith("{\"error\":\"line 1: "), r.out().get(0));
    }

    @Test
    void exitCodes() {
        Result usage = run("", "forward");
        assertEquals(2, usage.exit());
        assertTrue(usage.err().contains("--model"), usage.err());
        Result missing = run("", "forward", "--model", fixture("no-such-model").toString());
        assertEquals(1, missing.exit());
        assertEquals(1, missing.err().lines().count(), missing.err());
        assertTrue(missing.err().startsWith("xlmr: ") && missing.err().contains("config.json: no such file"), missing.err());
        Result empty = run("", "forward", "--model", fixture("xlmr-qa").toString());
        assertEquals(0, empty.exit(), empty.err());
        assertTrue(empty.out().isEmpty());
    }

    private static List<String> iterable(JsonNode n) {
        List<String> names = new java.util.ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
