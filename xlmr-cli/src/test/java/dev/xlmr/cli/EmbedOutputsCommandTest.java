package dev.xlmr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./xlmr embed --output/--dimensions/--quantize} and {@code ./xlmr similarity} on BGE-M3, Dense +
 * Matryoshka and SPLADE models, against the references of xlmr-pipelines/src/test/resources/embeddings
 * (FlagEmbedding's and sentence-transformers' algorithms; README there).
 */
class EmbedOutputsCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double TOL = 1e-5;

    static Path dir(String name) {
        return Path.of("..", "xlmr-pipelines", "src", "test", "resources", "embeddings", name);
    }

    static JsonNode expected(String name) throws IOException {
        return JSON.readTree(dir(name).resolve("expected.json").toFile());
    }

    /** The texts of the cases as JSON lines {"text": ...}. */
    static String jsonl(JsonNode cases) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (JsonNode c : cases) {
            sb.append(JSON.writeValueAsString(java.util.Map.of("text", c.get("text").asText()))).append('\n');
        }
        return sb.toString();
    }

    static List<JsonNode> lines(CliRun r) throws IOException {
        assertEquals(0, r.code(), r.err());
        List<JsonNode> out = new ArrayList<>();
        for (String l : r.out().lines().toList()) {
            out.add(JSON.readTree(l));
        }
        return out;
    }

    static void close(JsonNode expected, JsonNode got, String where) {
        assertEquals(expected.size(), got.size(), where + " size");
        for (int i = 0; i < expected.size(); i++) {
            if (expected.get(i).isArray()) {
                close(expected.get(i), got.get(i), where + " [" + i + "]");
            } else {
                assertEquals(expected.get(i).asDouble(), got.get(i).asDouble(), TOL, where + " [" + i + "]");
            }
        }
    }

    static List<String> names(JsonNode n) {
        List<String> k = new ArrayList<>();
        n.fieldNames().forEachRemaining(k::add);
        return k;
    }

    @Test
    void bgeM3OutputsAndScores() throws IOException {
        JsonNode exp = expected("bge-m3-tiny");
        JsonNode cases = exp.get("cases");
        String model = dir("bge-m3-tiny").toString();
        List<JsonNode> all = lines(CliRun.run(jsonl(cases), "embed", "--model", model, "--output", "all", "--jsonl"));
        assertEquals(cases.size(), all.size());
        for (int k = 0; k < cases.size(); k++) {
            JsonNode c = cases.get(k);
            JsonNode got = all.get(k);
            assertEquals(List.of("embedding", "sparse", "colbert"), names(got));
            close(c.get("dense_vecs"), got.get("embedding"), "case " + k + " dense");
            close(c.get("colbert_vecs"), got.get("colbert"), "case " + k + " colbert");
            assertEquals(names(c.get("lexical_weights")), names(got.get("sparse")), "case " + k + " sparse ids");
            for (String id : names(c.get("lexical_weights"))) {
                assertEquals(c.get("lexical_weights").get(id).asDouble(), got.get("sparse").get(id).asDouble(), TOL);
            }
        }
        JsonNode sparse = lines(CliRun.run("", "embed", "--model", model, "--output", "sparse", "--", cases.get(8).get("text").asText())).get(0);
        assertEquals(List.of("sparse"), names(sparse));
        assertEquals(names(cases.get(8).get("lexical_weights")), names(sparse.get("sparse")));
        JsonNode colbert = lines(CliRun.run("", "embed", "--model", model, "--output", "colbert", "a")).get(0);
        close(cases.get(0).get("colbert_vecs"), colbert.get("colbert"), "colbert only");

        JsonNode p = exp.get("pairs").get(1);
        JsonNode s = lines(CliRun.run("", "similarity", "--model", model, "--", cases.get(p.get("query").asInt()).get("text").asText(),
                cases.get(p.get("passage").asInt()).get("text").asText())).get(0);
        assertEquals(List.of("similarity", "colbert", "sparse", "dense", "sparse+dense", "colbert+sparse+dense"), names(s));
        JsonNode single = exp.get("compute_score_single").get(1);
        for (String key : names(single)) {
            if (!key.equals("pair")) {
                assertEquals(single.get(key).asDouble(), s.get(key).asDouble(), TOL, key);
            }
        }
        assertEquals(p.get("dense").asDouble(), s.get("similarity").asDouble(), TOL);
        // weights (dense, sparse, colbert) = (1, 0, 0): both sums are the dense score
        s = lines(CliRun.run("", "similarity", "--model", model, "--weights", "1,0,0", "a", "b")).get(0);
        assertEquals(s.get("dense").asDouble(), s.get("colbert+sparse+dense").asDouble(), 1e-12);
    }

    @Test
    void denseMatryoshkaAndQuantization(@TempDir Path tmp) throws IOException {
        JsonNode exp = expected("dense-plus");
        JsonNode cases = exp.get("cases");
        String model = dir("dense-plus").toString();
        String in = jsonl(cases);
        List<JsonNode> full = lines(CliRun.run(in, "embed", "--model", model, "--jsonl"));
        List<JsonNode> cut = lines(CliRun.run(in, "embed", "--model", model, "--jsonl", "--dimensions", "8"));
        List<JsonNode> cutNorm = lines(CliRun.run(in, "embed", "--model", model, "--jsonl", "--dimensions", "8", "--normalize"));
        for (int k = 0; k < cases.size(); k++) {
            close(cases.get(k).get("embedding"), full.get(k).get("embedding"), "case " + k);
            close(cases.get(k).get("truncate_dim_8"), cut.get(k).get("embedding"), "case " + k + " dimensions 8");
            close(cases.get(k).get("truncate_dim_8_normalized"), cutNorm.get(k).get("embedding"), "case " + k + " normalized");
        }
        // int8/uint8 with calibration embeddings = the reference embeddings: the ranges of the reference batch,
        // however stdin is cut into batches
        Path calibration = tmp.resolve("calibration.jsonl");
        StringBuilder cal = new StringBuilder();
        for (JsonNode c : cases) {
            cal.append(c.get("embedding").toString()).append('\n');
        }
        Files.writeString(calibration, cal);
        for (String precision : List.of("int8", "uint8", "binary", "ubinary")) {
            List<String> args = new ArrayList<>(List.of("embed", "--model", model, "--jsonl", "--quantize", precision));
            if (precision.endsWith("int8")) {
                args.addAll(List.of("--calibration", calibration.toString()));
            }
            List<JsonNode> q = lines(CliRun.run(in, args.toArray(String[]::new)));
            for (int k = 0; k < cases.size(); k++) {
                JsonNode want = exp.get("quantized").get(precision).get(k);
                JsonNode got = q.get(k).get("embedding");
                assertEquals(want.size(), got.size());
                for (int j = 0; j < want.size(); j++) {
                    assertTrue(got.get(j).isInt(), precision + " integers");
                    // our floats may sit on the other side of a bucket edge: at most one step
                    assertTrue(Math.abs(want.get(j).asInt() - got.get(j).asInt()) <= (precision.endsWith("binary") ? 0 : 1),
                            precision + " case " + k + " [" + j + "]: " + want + " vs " + got);
                }
            }
        }
        CliRun bad = CliRun.run("", "embed", "--model", model, "--calibration", calibration.toString(), "x");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--calibration needs --quantize int8 or uint8"), bad.err());
        bad = CliRun.run("", "embed", "--model", model, "--quantize", "int4", "x");
        assertEquals(2, bad.code());
        bad = CliRun.run("", "embed", "--model", model, "--output", "colbert", "x");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("no ColBERT output"), bad.err());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
    }

    @Test
    void spladeGivesSparseByDefault() throws IOException {
        JsonNode exp = expected("splade-tiny");
        JsonNode c = exp.get("cases").get(7);
        String model = dir("splade-tiny").toString();
        JsonNode got = lines(CliRun.run("", "embed", "--model", model, c.get("text").asText())).get(0);
        assertEquals(List.of("sparse"), names(got));
        assertEquals(names(c.get("sparse")), names(got.get("sparse")));
        for (String id : names(c.get("sparse"))) {
            assertEquals(c.get("sparse").get(id).asDouble(), got.get("sparse").get(id).asDouble(), TOL);
        }
        JsonNode top = lines(CliRun.run("", "embed", "--model", model, "--max-active-dims", "3", c.get("text").asText())).get(0);
        assertEquals(3, top.get("sparse").size());
        // similarity: the dot product of the reference sparse vectors
        JsonNode a = exp.get("cases").get(7).get("sparse");
        JsonNode b = exp.get("cases").get(3).get("sparse");
        double dot = 0;
        for (String id : names(a)) {
            if (b.has(id)) {
                dot += a.get(id).asDouble() * b.get(id).asDouble();
            }
        }
        JsonNode s = lines(CliRun.run("", "similarity", "--model", model, c.get("text").asText(),
                exp.get("cases").get(3).get("text").asText())).get(0);
        assertEquals(dot, s.get("similarity").asDouble(), 1e-4 * Math.max(1, Math.abs(dot)));
    }

    /** --long-inputs windows and --late-chunking against xlmr-pipelines' long-document references (bench/reference). */
    @Test
    void windowsAndLateChunking() throws IOException {
        JsonNode exp = JSON.readTree(Path.of("..", "xlmr-pipelines", "src", "test", "resources", "long-documents",
                "expected.json").toFile());
        StringBuilder stdin = new StringBuilder();
        for (JsonNode t : exp.get("texts")) {
            stdin.append(JSON.writeValueAsString(java.util.Map.of("text", t.asText()))).append('\n');
        }
        int settings = 0;
        for (JsonNode s : exp.get("settings")) {
            if (!s.get("model").asText().equals("bge-m3-tiny") || s.get("max_length").asInt() != 24) {
                continue;
            }
            List<JsonNode> out = lines(CliRun.run(stdin.toString(), "embed", "--model", dir("bge-m3-tiny").toString(),
                    "--jsonl", "--output", "all", "--long-inputs", "windows", "--max-length", "24", "--overlap",
                    s.get("overlap").asText()));
            assertEquals(s.get("cases").size(), out.size());
            for (int k = 0; k < out.size(); k++) {
                JsonNode c = s.get("cases").get(k);
                close(c.get("dense"), out.get(k).get("embedding"), "text " + k + " dense");
                close(c.get("colbert_vecs"), out.get(k).get("colbert"), "text " + k + " colbert");
                List<String> keys = new ArrayList<>();
                c.get("lexical_weights").fieldNames().forEachRemaining(keys::add);
                List<String> got = new ArrayList<>();
                out.get(k).get("sparse").fieldNames().forEachRemaining(got::add);
                assertEquals(keys, got, "text " + k + " sparse ids");
            }
            settings++;
        }
        assertEquals(1, settings);
        int docs = 0;
        for (JsonNode c : exp.get("late_chunking")) {
            if (!c.get("model").asText().equals("dense-plus") || c.get("max_length").asInt() != 128) {
                continue;
            }
            List<String> args = new ArrayList<>(List.of("embed", "--model", dir("dense-plus").toString(), "--late-chunking",
                    "--overlap", c.get("overlap").asText(), "--"));
            c.get("chunks").forEach(t -> args.add(t.asText()));
            List<JsonNode> out = lines(CliRun.run("", args.toArray(new String[0])));
            assertEquals(1, out.size());
            close(c.get("embeddings"), out.get(0).get("embeddings"), "late chunking " + docs);
            // the same document as a JSON line
            String line = JSON.writeValueAsString(java.util.Map.of("chunks", c.get("chunks"))) + "\n";
            out = lines(CliRun.run(line + line, "embed", "--model", dir("dense-plus").toString(), "--late-chunking",
                    "--jsonl", "--overlap", c.get("overlap").asText()));
            assertEquals(2, out.size());
            close(c.get("embeddings"), out.get(1).get("embeddings"), "late chunking jsonl " + docs);
            docs++;
        }
        assertEquals(3, docs);
        CliRun bad = CliRun.run("", "embed", "--model", dir("dense-plus").toString(), "--long-inputs", "slide", "x");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--long-inputs: unknown mode 'slide' (truncate, windows)"), bad.err());
        bad = CliRun.run("{\"text\": \"a\"}\n", "embed", "--model", dir("dense-plus").toString(), "--late-chunking", "--jsonl");
        assertTrue(bad.err().contains("--late-chunking reads JSON lines {\"chunks\": [...]}"), bad.err());
    }
}
