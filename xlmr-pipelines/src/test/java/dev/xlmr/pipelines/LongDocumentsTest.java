package dev.xlmr.pipelines;

import static dev.xlmr.pipelines.EmbeddingOutputsTest.closeAll;
import static dev.xlmr.pipelines.EmbeddingOutputsTest.ints;
import static dev.xlmr.pipelines.EmbeddingOutputsTest.sameSparse;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.pipelines.EmbeddingPipeline.LongInputs;
import dev.xlmr.pipelines.EmbeddingPipeline.Options;
import dev.xlmr.pipelines.EmbeddingPipeline.Output;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Windows and late chunking against src/test/resources/long-documents/expected.json: every window run
 * alone through an independent PyTorch forward (bench/reference/xlmr_reference.py) and combined there by
 * the documented recipes (token-weighted mean, max per id, max-context stitching, mean per chunk).
 */
class LongDocumentsTest {

    static JsonNode expected() {
        try {
            return Fixtures.JSON.readTree(Path.of("src", "test", "resources", "long-documents", "expected.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void windowsMatchTheReference() {
        JsonNode exp = expected();
        List<String> texts = new ArrayList<>();
        exp.get("texts").forEach(t -> texts.add(t.asText()));
        int checked = 0;
        for (JsonNode setting : exp.get("settings")) {
            String model = setting.get("model").asText();
            boolean m3 = model.equals("bge-m3-tiny");
            try (EmbeddingPipeline p = EmbeddingPipeline.load(EmbeddingOutputsTest.dir(model).toString())) {
                p.maxLength(setting.get("max_length").asInt());
                p.warnings(w -> { });
                Options o = Options.defaults().longInputs(LongInputs.WINDOWS).overlap(setting.get("overlap").asInt());
                Set<Output> outputs = m3 ? EnumSet.allOf(Output.class) : EnumSet.of(Output.DENSE);
                List<MultiEmbedding> got = p.encode(texts, o, outputs);
                List<EmbeddingPipeline.Input> prepared = p.prepare(texts, o, false);
                for (int k = 0; k < texts.size(); k++) {
                    JsonNode c = setting.get("cases").get(k);
                    String where = model + " " + setting.get("max_length") + "/" + setting.get("overlap") + " text " + k;
                    assertArrayEquals(ints(c.get("input_ids")), prepared.get(k).encoding().ids(), where + " input_ids");
                    closeAll(c.get("dense"), got.get(k).dense(), where + " dense");
                    if (m3) {
                        sameSparse(c.get("lexical_weights"), got.get(k).sparse(), where + " lexical");
                        JsonNode col = c.get("colbert_vecs");
                        assertEquals(col.size(), got.get(k).colbert().length, where + " colbert rows");
                        for (int t = 0; t < col.size(); t++) {
                            closeAll(col.get(t), got.get(k).colbert()[t], where + " colbert " + t);
                        }
                    }
                    int n = c.get("input_ids").size() - 2;
                    int size = setting.get("max_length").asInt() - 2;
                    assertArrayEquals(ints(c.get("windows")), LongDocuments.windowStarts(n, size, setting.get("overlap").asInt()),
                            where + " windows");
                    checked++;
                }
                // the dense output alone gives the same vectors
                List<float[]> dense = p.embedAll(texts, o);
                for (int k = 0; k < texts.size(); k++) {
                    closeAll(setting.get("cases").get(k).get("dense"), dense.get(k), "dense alone " + k);
                }
            }
        }
        assertEquals(30, checked);
    }

    @Test
    void lateChunkingMatchesTheReference() {
        int checked = 0;
        for (JsonNode c : expected().get("late_chunking")) {
            String model = c.get("model").asText();
            try (EmbeddingPipeline p = EmbeddingPipeline.load(EmbeddingOutputsTest.dir(model).toString())) {
                p.maxLength(c.get("max_length").asInt());
                List<String> chunks = new ArrayList<>();
                c.get("chunks").forEach(t -> chunks.add(t.asText()));
                dev.xlmr.tokenizer.Encoding e = p.tokenizer().encode(String.join(" ", chunks));
                assertArrayEquals(ints(c.get("input_ids")), e.ids(), model + " late chunking input_ids");
                List<float[]> got = p.lateChunking(chunks, Options.defaults().overlap(c.get("overlap").asInt()));
                assertEquals(chunks.size(), got.size());
                for (int i = 0; i < got.size(); i++) {
                    closeAll(c.get("embeddings").get(i), got.get(i), model + " " + c.get("max_length") + " chunks "
                            + chunks.size() + " chunk " + i);
                }
                checked++;
            }
        }
        assertEquals(12, checked);
    }

    @Test
    void aTextThatFitsGivesWhatItGivesWithoutWindows() {
        try (EmbeddingPipeline p = EmbeddingPipeline.load(EmbeddingOutputsTest.dir("bge-m3-tiny").toString())) {
            List<String> texts = List.of("Hello world", "a", "Bonjour le monde");
            Options windows = Options.defaults().longInputs(LongInputs.WINDOWS);
            List<MultiEmbedding> plain = p.encode(texts, Options.defaults(), EnumSet.allOf(Output.class));
            List<MultiEmbedding> win = p.encode(texts, windows, EnumSet.allOf(Output.class));
            for (int k = 0; k < texts.size(); k++) {
                assertArrayEquals(plain.get(k).dense(), win.get(k).dense());
                assertEquals(plain.get(k).sparse(), win.get(k).sparse());
                assertEquals(plain.get(k).colbert().length, win.get(k).colbert().length);
            }
        }
    }

    @Test
    void windowStartsCoverTheText() {
        for (int n = 1; n < 60; n += 7) {
            for (int size = 1; size < 13; size += 3) {
                for (int overlap = 0; overlap < size; overlap += 2) {
                    int[] s = LongDocuments.windowStarts(n, size, overlap);
                    assertEquals(0, s[0]);
                    assertTrue(s[s.length - 1] + size >= n, "the last window reaches the end");
                    assertTrue(s.length == 1 || s[s.length - 2] + size < n, "no window more than needed");
                    for (int k = 1; k < s.length; k++) {
                        assertEquals(size - overlap, s[k] - s[k - 1]);
                    }
                }
            }
        }
    }

    @Test
    void badRequestsAreClearErrors() {
        try (EmbeddingPipeline p = EmbeddingPipeline.load(EmbeddingOutputsTest.dir("dense-plus").toString())) {
            p.maxLength(10);
            String longText = "Falls der Befehlsname kein regulärer Ausdruck ist und einen Schrägstrich enthält";
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> p.embed(longText, Options.defaults().longInputs(LongInputs.WINDOWS).overlap(8)));
            assertEquals("overlap 8 must be smaller than the window's 8 text tokens", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> p.lateChunking(List.of("a", " "), Options.defaults()));
            assertEquals("chunk 1 has no tokens (empty or only spaces)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> p.lateChunking(List.of(), Options.defaults()));
            assertEquals("late chunking needs at least one chunk", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> p.lateChunking(List.of("a"), Options.defaults().pooling(EmbeddingPipeline.Pooling.CLS)));
            assertTrue(e.getMessage().startsWith("late chunking mean-pools"), e.getMessage());
            assertEquals(LongInputs.WINDOWS, LongInputs.parse(" Windows "));
            assertThrows(IllegalArgumentException.class, () -> LongInputs.parse("slide"));
        }
    }

    /** BGE-M3 heads in a folder without modules.json (no sentence-transformers configuration): windows still work. */
    @Test
    void bgeM3HeadsWithoutSentenceTransformersFiles(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path src = EmbeddingOutputsTest.dir("bge-m3-tiny").toAbsolutePath();
        for (String f : List.of("config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json",
                "tokenizer_config.json", "sparse_linear.pt", "colbert_linear.pt")) {
            java.nio.file.Files.createSymbolicLink(tmp.resolve(f), src.resolve(f));
        }
        JsonNode setting = null;
        for (JsonNode s : expected().get("settings")) {
            if (s.get("model").asText().equals("bge-m3-tiny") && s.get("max_length").asInt() == 24) {
                setting = s;
            }
        }
        List<String> texts = new ArrayList<>();
        expected().get("texts").forEach(t -> texts.add(t.asText().strip()));
        try (EmbeddingPipeline p = EmbeddingPipeline.load(tmp.toString())) {
            assertEquals(false, p.isSentenceTransformers());
            p.maxLength(24);
            List<MultiEmbedding> got = p.encode(texts, Options.defaults().longInputs(LongInputs.WINDOWS)
                    .overlap(setting.get("overlap").asInt()), EnumSet.of(Output.SPARSE, Output.COLBERT));
            for (int k = 0; k < texts.size(); k++) {
                sameSparse(setting.get("cases").get(k).get("lexical_weights"), got.get(k).sparse(), "text " + k);
                assertEquals(setting.get("cases").get(k).get("colbert_vecs").size(), got.get(k).colbert().length);
            }
        }
    }
}
