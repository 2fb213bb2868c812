package dev.xlmr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenizeCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    final String model = CliRun.testdata("xlmr-base").toString();

    @Test
    void matchesTheFastReferenceWithCodePointOffsets() throws Exception {
        // the first 200 reference lines, fed as JSON lines, must come back identical
        List<String> lines = Files.readAllLines(CliRun.testdata("tokenizer").resolve("tok_public.fast.jsonl")).subList(0, 200);
        StringBuilder in = new StringBuilder();
        for (String l : lines) {
            in.append(JSON.writeValueAsString(java.util.Map.of("text", JSON.readTree(l).get("text").asText()))).append('\n');
        }
        CliRun r = CliRun.run(in.toString(), "tokenize", "--model", model);
        assertEquals(0, r.code(), r.err());
        List<String> out = r.out().lines().toList();
        assertEquals(lines.size(), out.size());
        for (int i = 0; i < lines.size(); i++) {
            JsonNode exp = JSON.readTree(lines.get(i));
            JsonNode got = JSON.readTree(out.get(i));
            assertEquals(exp.get("ids"), got.get("ids"), lines.get(i));
            assertEquals(exp.get("tokens"), got.get("tokens"), lines.get(i));
            assertEquals(exp.get("offsets"), got.get("offsets"), lines.get(i));
        }
    }

    @Test
    void sentencepieceFormAndPairs() throws Exception {
        List<String> lines = Files.readAllLines(CliRun.testdata("tokenizer").resolve("pairs_public.slow.jsonl")).subList(0, 50);
        StringBuilder in = new StringBuilder();
        for (String l : lines) {
            JsonNode n = JSON.readTree(l);
            in.append(JSON.writeValueAsString(java.util.Map.of("text", n.get("text").asText(), "text_pair",
                    n.get("text_pair").asText()))).append('\n');
        }
        CliRun r = CliRun.run(in.toString(), "tokenize", "--model", model, "--tokenizer", "sentencepiece");
        assertEquals(0, r.code(), r.err());
        List<String> out = r.out().lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            assertEquals(JSON.readTree(lines.get(i)).get("ids"), JSON.readTree(out.get(i)).get("ids"));
        }
    }

    @Test
    void badLinesAreReportedWithTheirNumberAndTheOthersStillProcessed() throws Exception {
        CliRun r = CliRun.run("{\"text\": \"a\"}\n{oops\n{\"nope\": 1}\n{\"text\": \"b\"}\n", "tokenize", "--model", model);
        assertEquals(1, r.code());
        List<String> out = r.out().lines().toList();
        assertEquals(4, out.size());
        assertTrue(JSON.readTree(out.get(0)).has("ids"));
        assertTrue(JSON.readTree(out.get(1)).get("error").asText().startsWith("line 2: not valid JSON"));
        assertTrue(JSON.readTree(out.get(2)).get("error").asText().contains("missing field \"text\""));
        assertTrue(JSON.readTree(out.get(3)).has("ids"));
        assertTrue(r.err().contains("xlmr: line 2: not valid JSON"), r.err());
        assertTrue(r.err().contains("xlmr: line 3: missing field"), r.err());
    }

    @Test
    void truncationStrideAndNoSpecialTokens() throws Exception {
        String text = "one two three four five six seven eight nine ten eleven twelve";
        CliRun r = CliRun.run(JSON.writeValueAsString(java.util.Map.of("text", text)) + "\n",
                "tokenize", "--model", model, "--max-length", "8", "--stride", "2");
        assertEquals(0, r.code(), r.err());
        JsonNode n = JSON.readTree(r.out());
        assertEquals(8, n.get("ids").size());
        assertTrue(n.get("overflowing").size() >= 1);
        CliRun plain = CliRun.run(JSON.writeValueAsString(java.util.Map.of("text", "hello")) + "\n",
                "tokenize", "--model", model, "--no-special-tokens");
        JsonNode p = JSON.readTree(plain.out());
        assertTrue(p.get("ids").get(0).asInt() > 3);
    }

    @Test
    void usageAndRuntimeErrorsHaveTheirExitCodes() {
        assertEquals(2, CliRun.run("", "tokenize").code());
        CliRun bad = CliRun.run("", "tokenize", "--model", model, "--tokenizer", "bpe");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--tokenizer must be auto, sentencepiece or json"), bad.err());
        assertEquals(2, CliRun.run("", "tokenize", "--model", model, "--truncation", "x").code());
        CliRun missing = CliRun.run("", "tokenize", "--model", "/does/not/exist");
        assertEquals(1, missing.code());
        assertEquals("xlmr: /does/not/exist: not a model folder", missing.err().strip());
        assertEquals(0, CliRun.run("", "--help").code());
        assertEquals(0, CliRun.run("", "tokenize", "--help").code());
    }
}
