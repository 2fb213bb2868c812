package dev.xlmr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17 at the command line: damaged models and hostile inputs give one clean line and the exit
 * code of their kind (1: model or input error, 2: usage), the same in every command.
 */
class ReliabilityCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** A copy of a testdata model folder (with its sentence-transformers module folders). */
    private Path copy(String name) throws IOException {
        Path from = CliRun.testdata(name);
        Path to = tmp.resolve(name);
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path t = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(f, t);
                }
            }
        }
        return to;
    }

    private static void assertOneCleanLine(String err) {
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("xlmr: "), err);
        assertFalse(err.contains("Exception") || err.contains("\tat "), err);
    }

    /** Writes NaN over the first float of a tensor of a safetensors file. */
    private static void poison(Path safetensors, String tensor) throws IOException {
        byte[] all = Files.readAllBytes(safetensors);
        long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode header = JSON.readTree(new String(all, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8));
        long begin = header.get(tensor).get("data_offsets").get(0).asLong();
        try (FileChannel ch = FileChannel.open(safetensors, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, Float.NaN), 8 + n + begin);
        }
    }

    @Test
    void nanOutputIsAModelErrorOnOneLineForCommandLineAndStdin() throws IOException {
        Path m = copy("xlmr-seqcls");
        poison(m.resolve("model.safetensors"), "classifier.out_proj.bias");
        CliRun r = CliRun.run("", "classify", "--model", m.toString(), "a text");
        assertEquals(1, r.code(), r.err());
        assertOneCleanLine(r.err());
        assertTrue(r.err().contains("NaN"), r.err());
        assertEquals("", r.out());
        // stdin: the damaged model ends the command, not one error per line
        r = CliRun.run("first\nsecond\nthird\n", "classify", "--model", m.toString());
        assertEquals(1, r.code(), r.err());
        assertOneCleanLine(r.err());
        assertTrue(r.err().contains("NaN"), r.err());
        assertEquals("", r.out());
    }

    /** A copy of a model whose tokenizer.json normalizer ends with a Replace of a backtracking regex. */
    private Path withBacktrackingReplace(String name) throws IOException {
        Path m = copy(name);
        Path f = m.resolve("tokenizer.json");
        ObjectNode root = (ObjectNode) JSON.readTree(f.toFile());
        ArrayNode seq = (ArrayNode) root.get("normalizer").get("normalizers");
        seq.addObject().put("type", "Replace").put("content", "x").putObject("pattern").put("Regex", "((a+)+)+b");
        JSON.writeValue(f.toFile(), root);
        return m;
    }

    @Test
    void aTokenizerOverItsRegexBudgetFailsOnlyItsLine() throws IOException {
        Path m = withBacktrackingReplace("xlmr-base");
        String hostile = "a".repeat(40) + "!";
        CliRun r = CliRun.run("hello\n" + hostile + "\nworld\n", "embed", "--model", m.toString());
        assertEquals(1, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(3, lines.size(), r.out());
        assertTrue(JSON.readTree(lines.get(0)).has("embedding"), lines.get(0));
        String error = JSON.readTree(lines.get(1)).get("error").asText();
        assertTrue(error.startsWith("line 2: ") && error.contains("backtracks too much"), error);
        assertTrue(JSON.readTree(lines.get(2)).has("embedding"), lines.get(2));
        assertOneCleanLine(r.err());

        r = CliRun.run("{\"text\": \"hello\"}\n{\"text\": \"" + hostile + "\"}\n{\"text\": \"world\"}\n",
                "tokenize", "--model", m.toString());
        assertEquals(1, r.code(), r.err());
        lines = r.out().lines().toList();
        assertEquals(3, lines.size(), r.out());
        assertTrue(JSON.readTree(lines.get(0)).has("ids") && JSON.readTree(lines.get(2)).has("ids"), r.out());
        assertTrue(JSON.readTree(lines.get(1)).get("error").asText().startsWith("line 2: "), lines.get(1));
        assertOneCleanLine(r.err());
    }

    @Test
    void maxLengthBelowTheSpecialTokensIsAUsageError() {
        String m = CliRun.testdata("xlmr-base").toString();
        CliRun r = CliRun.run("{\"text\": \"hello\"}\n", "tokenize", "--model", m, "--max-length", "1");
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out());
        assertTrue(r.err().startsWith("--max-length 1: max_length 1 is less than the 2 special tokens"), r.err());
        // a limit that holds the special tokens still works
        r = CliRun.run("{\"text\": \"hello world\"}\n", "tokenize", "--model", m, "--max-length", "2");
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void anUnreadableWeightsFileIsOneCleanLine() throws IOException {
        Path m = copy("xlmr-base");
        Files.delete(m.resolve("model.safetensors"));
        Files.delete(m.resolve("pytorch_model.bin")); // else the loader takes it instead
        // a folder in the weights file's place: FileChannel opens it, reading or mapping it fails with an
        // IOException, which MappedFiles turns into a CheckpointException naming the file
        Files.createDirectory(m.resolve("model.safetensors"));
        CliRun r = CliRun.run("", "embed", "--model", m.toString(), "hello");
        assertEquals(1, r.code(), r.err());
        assertOneCleanLine(r.err());
        assertTrue(r.err().contains("model.safetensors"), r.err());
    }

    @Test
    void emptyInputIsNoOutputAndExitZeroInEveryCommand() {
        String base = CliRun.testdata("xlmr-base").toString();
        List<List<String>> commands = List.of(
                List.of("tokenize", "--model", base),
                List.of("embed", "--model", base),
                List.of("fill-mask", "--model", CliRun.testdata("xlmr-mlm").toString()),
                List.of("classify", "--model", CliRun.testdata("xlmr-seqcls").toString()),
                List.of("ner", "--model", CliRun.testdata("xlmr-tokcls").toString()),
                List.of("qa", "--model", CliRun.testdata("xlmr-qa").toString(), "--jsonl"),
                List.of("zero-shot", "--model", CliRun.testdata("xlmr-nli").toString(), "--labels", "a,b"));
        for (List<String> c : commands) {
            // a blank plain line is an input (the empty text); blank JSON lines are skipped
            for (String stdin : c.contains("--jsonl") || c.get(0).equals("tokenize") ? List.of("", "\n\n") : List.of("")) {
                CliRun r = CliRun.run(stdin, c.toArray(String[]::new));
                assertEquals(0, r.code(), c + ": " + r.err());
                assertEquals("", r.out(), c.toString());
            }
        }
        // the model is still loaded: a wrong folder is an error even without input, as in tokenize
        assertEquals(1, CliRun.run("", "tokenize", "--model", "/no/such/folder").code());
        CliRun r = CliRun.run("", "embed", "--model", "/no/such/folder");
        assertEquals(1, r.code());
        assertOneCleanLine(r.err());
    }

    @Test
    void aBareCarriageReturnDoesNotSplitALine() throws IOException {
        String m = CliRun.testdata("xlmr-mlm").toString();
        // split at the CR, the second half would have no mask and fail
        CliRun r = CliRun.run("Paris is the <mask>\rof France.\r\nBerlin is a <mask>.\n", "fill-mask", "--model", m,
                "--top-k", "1");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(2, lines.size(), r.out());
        assertTrue(JSON.readTree(lines.get(0)).get(0).get("sequence").asText().endsWith("of France."), lines.get(0));
        // CRLF: the CR is not part of the text
        assertFalse(JSON.readTree(lines.get(1)).get(0).get("sequence").asText().contains("\r"));
    }

    @Test
    void negativeStridesAreUsageErrors() {
        String ner = CliRun.testdata("xlmr-tokcls").toString();
        String qa = CliRun.testdata("xlmr-qa").toString();
        for (String s : List.of("-1", "-5")) {
            CliRun r = CliRun.run("", "ner", "--model", ner, "--stride", s, "a text");
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().startsWith("--stride must be >= 0 (got " + s + ")"), r.err());
            r = CliRun.run("", "qa", "--model", qa, "--doc-stride", s, "--question", "q", "--context", "c");
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().startsWith("--doc-stride must be >= 0 (got " + s + ")"), r.err());
        }
        CliRun r = CliRun.run("", "ner", "--model", ner, "--stride", "0", "a text");
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void fillMaskDoesNotEchoAHugeInput() throws IOException {
        String huge = "word ".repeat(200_000); // 1 MB, no mask
        String m = CliRun.testdata("xlmr-mlm").toString();
        CliRun r = CliRun.run("", "fill-mask", "--model", m, huge);
        assertEquals(1, r.code());
        assertOneCleanLine(r.err());
        assertTrue(r.err().length() < 200, r.err().length() + " chars");
        assertTrue(r.err().contains("no mask token") && r.err().contains("\"word word"), r.err());
        r = CliRun.run(huge + "\n", "fill-mask", "--model", m);
        assertEquals(1, r.code());
        assertTrue(r.out().length() < 200 && r.err().length() < 200, r.out());
        assertTrue(JSON.readTree(r.out()).get("error").asText().startsWith("line 1: no mask token"), r.out());
    }
}
