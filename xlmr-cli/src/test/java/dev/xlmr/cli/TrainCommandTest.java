package dev.xlmr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code xlmr train}: a short run whose folder the other commands load, and its errors. */
class TrainCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void trainsAFolderThatClassifyAndNerLoad() throws IOException {
        Path data = Files.writeString(tmp.resolve("train.jsonl"), """
                {"text": "ls lists directory contents", "label": "en"}
                {"text": "ls listet Verzeichnisinhalte auf", "label": "de"}
                {"text": "ls affiche le contenu des répertoires", "label": "fr"}
                """);
        Path out = tmp.resolve("out");
        CliRun r = CliRun.run("", "train", "--model", CliRun.testdata("xlmr-base").toString(), "--task", "text-classification",
                "--train", data.toString(), "--validation", data.toString(), "--out", out.toString(), "--max-steps", "2",
                "--batch-size", "2", "--eval-steps", "1", "--logging-steps", "1", "--no-progress");
        assertEquals(0, r.code(), r.err());
        List<String> evals = r.out().lines().toList();
        assertEquals(2, evals.size(), r.out());
        JsonNode e = JSON.readTree(evals.get(1));
        assertEquals(2, e.get("step").asInt());
        assertTrue(e.has("eval_accuracy") && e.has("eval_f1") && e.has("eval_loss"), e.toString());
        assertTrue(r.err().contains("\"learning_rate\""), r.err());
        CliRun c = CliRun.run("", "classify", "--model", out.toString(), "--top-k", "3", "ls lists files");
        assertEquals(0, c.code(), c.err());
        for (String label : List.of("de", "en", "fr")) {
            assertTrue(c.out().contains("\"" + label + "\""), c.out());
        }

        Path conll = Files.writeString(tmp.resolve("ner.conll"), "Anna B-PER\nlives O\nin O\nBerlin B-LOC\n");
        Path nerOut = tmp.resolve("ner");
        r = CliRun.run("", "train", "--model", CliRun.testdata("xlmr-base").toString(), "--task", "token-classification",
                "--train", conll.toString(), "--out", nerOut.toString(), "--max-steps", "1", "--no-progress", "--fp32-matmul");
        assertEquals(0, r.code(), r.err());
        c = CliRun.run("", "ner", "--model", nerOut.toString(), "--aggregation", "none", "Anna lives in Berlin");
        assertEquals(0, c.code(), c.err());
    }

    @Test
    void badDataIsOneLineWithFileAndLineAndBadOptionsAreUsageErrors() throws IOException {
        Path data = Files.writeString(tmp.resolve("bad.jsonl"), "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": 5, \"label\": \"y\"}\n");
        CliRun r = CliRun.run("", "train", "--model", CliRun.testdata("xlmr-base").toString(), "--task", "text-classification",
                "--train", data.toString(), "--out", tmp.resolve("o").toString(), "--no-progress");
        assertEquals(1, r.code());
        assertEquals("xlmr: " + data + ":2: \"text\" is not a string", r.err().strip());
        r = CliRun.run("", "train", "--model", CliRun.testdata("xlmr-base").toString(), "--task", "summarization",
                "--train", data.toString(), "--out", tmp.resolve("o").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown task 'summarization'"), r.err());
        r = CliRun.run("", "train", "--model", CliRun.testdata("xlmr-base").toString(), "--task", "fill-mask",
                "--train", data.toString(), "--out", tmp.resolve("o").toString(), "--batch-size", "0");
        assertEquals(2, r.code());
    }
}
