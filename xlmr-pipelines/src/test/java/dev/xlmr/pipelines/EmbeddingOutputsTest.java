package dev.xlmr.pipelines;

import static dev.xlmr.pipelines.Fixtures.close;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.pipelines.EmbeddingPipeline.Options;
import dev.xlmr.pipelines.EmbeddingPipeline.Output;
import dev.xlmr.pipelines.Quantization.Precision;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * BGE-M3 (dense, lexical weights, ColBERT, compute_score), sentence-transformers Dense + truncate_dim +
 * quantize_embeddings, and SPLADE against src/test/resources/embeddings (FlagEmbedding's and
 * sentence-transformers' algorithms on transformers 4.27; README there): floats within 1e-5, sparse key
 * sets identical, quantized integers exact from the reference floats.
 */
class EmbeddingOutputsTest {

    static Path dir(String name) {
        return Path.of("src", "test", "resources", "embeddings", name);
    }

    static JsonNode expected(String name) {
        try {
            return Fixtures.JSON.readTree(dir(name).resolve("expected.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<String> texts(JsonNode cases) {
        List<String> t = new ArrayList<>();
        for (JsonNode c : cases) {
            t.add(c.get("text").asText());
        }
        return t;
    }

    static float[] floats(JsonNode a) {
        float[] v = new float[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) a.get(i).asDouble();
        }
        return v;
    }

    static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).asInt();
        }
        return v;
    }

    static void closeAll(JsonNode expected, float[] got, String where) {
        assertEquals(expected.size(), got.length, where + " size");
        for (int i = 0; i < got.length; i++) {
            close(expected.get(i).asDouble(), got[i], where + " [" + i + "]");
        }
    }

    /** Same ids in the same order, weights within 1e-5. */
    static void sameSparse(JsonNode expected, SparseEmbedding got, String where) {
        List<String> keys = new ArrayList<>();
        expected.fieldNames().forEachRemaining(keys::add);
        List<String> gotKeys = got.toMap().keySet().stream().map(String::valueOf).toList();
        assertEquals(keys, gotKeys, where + " ids");
        for (Map.Entry<Integer, Float> e : got.toMap().entrySet()) {
            close(expected.get(String.valueOf(e.getKey())).asDouble(), e.getValue(), where + " id " + e.getKey());
        }
    }

    @Test
    void bgeM3DenseLexicalWeightsAndColbertMatchFlagEmbedding() {
        JsonNode exp = expected("bge-m3-tiny");
        JsonNode cases = exp.get("cases");
        try (EmbeddingPipeline m3 = EmbeddingPipeline.load(dir("bge-m3-tiny").toString())) {
            assertEquals(EnumSet.allOf(Output.class), m3.outputs());
            List<String> texts = texts(cases);
            List<EmbeddingPipeline.Input> prepared = m3.prepare(texts, Options.defaults(), true);
            List<MultiEmbedding> batched = m3.encode(texts, Options.defaults(), EnumSet.allOf(Output.class));
            List<float[][]> hidden = m3.tokenEmbeddings(texts, Options.defaults().pooling(EmbeddingPipeline.Pooling.CLS));
            for (int k = 0; k < cases.size(); k++) {
                JsonNode c = cases.get(k);
                String where = "case " + k;
                assertArrayEquals(ints(c.get("input_ids")), prepared.get(k).encoding().ids(), where + " input_ids");
                MultiEmbedding one = m3.encode(List.of(texts.get(k)), Options.defaults(), EnumSet.allOf(Output.class)).get(0);
                for (MultiEmbedding got : List.of(batched.get(k), one)) {
                    closeAll(c.get("dense_vecs"), got.dense(), where + " dense");
                    sameSparse(c.get("lexical_weights"), got.sparse(), where + " lexical");
                    JsonNode col = c.get("colbert_vecs");
                    assertEquals(c.get("input_ids").size() - 1, got.colbert().length, where + " colbert rows");
                    for (int t = 0; t < col.size(); t++) {
                        closeAll(col.get(t), got.colbert()[t], where + " colbert " + t);
                    }
                }
                closeAll(c.get("token_weights"), m3.m3Heads().tokenWeights(hidden.get(k)), where + " token weights");
                // only the sparse or only the ColBERT output: the same values
                sameSparse(c.get("lexical_weights"), m3.sparseEmbeddings(List.of(texts.get(k)), Options.defaults()).get(0),
                        where + " sparse only");
                assertEquals(col(c).length, m3.colbertVectors(List.of(texts.get(k)), Options.defaults()).get(0).length);
            }
        }
    }

    private static float[][] col(JsonNode c) {
        JsonNode col = c.get("colbert_vecs");
        float[][] v = new float[col.size()][];
        for (int i = 0; i < v.length; i++) {
            v[i] = floats(col.get(i));
        }
        return v;
    }

    @Test
    void bgeM3ScoresMatchComputeScore() {
        JsonNode exp = expected("bge-m3-tiny");
        JsonNode cases = exp.get("cases");
        try (EmbeddingPipeline m3 = EmbeddingPipeline.load(dir("bge-m3-tiny").toString())) {
            List<String> queries = new ArrayList<>();
            List<String> passages = new ArrayList<>();
            for (JsonNode p : exp.get("pairs")) {
                queries.add(cases.get(p.get("query").asInt()).get("text").asText());
                passages.add(cases.get(p.get("passage").asInt()).get("text").asText());
            }
            List<Scores.M3> got = m3.m3Scores(queries, passages, Scores.M3_WEIGHTS, Options.defaults());
            for (int i = 0; i < got.size(); i++) {
                JsonNode p = exp.get("pairs").get(i);
                Scores.M3 s = got.get(i);
                close(p.get("dense").asDouble(), s.dense(), "pair " + i + " dense");
                close(p.get("sparse").asDouble(), s.sparse(), "pair " + i + " sparse");
                close(p.get("colbert").asDouble(), s.colbert(), "pair " + i + " colbert");
                JsonNode single = exp.get("compute_score_single").get(i);
                for (Map.Entry<String, Double> e : s.toMap().entrySet()) {
                    close(single.get(e.getKey()).asDouble(), e.getValue(), "pair " + i + " " + e.getKey());
                    close(exp.get("compute_score_batched").get(e.getKey()).get(i).asDouble(), e.getValue(),
                            "pair " + i + " batched " + e.getKey());
                }
                // the score functions on the reference vectors themselves
                JsonNode q = cases.get(p.get("query").asInt());
                JsonNode d = cases.get(p.get("passage").asInt());
                close(p.get("colbert").asDouble(), Scores.colbert(col(q), col(d)), "pair " + i + " colbert of references");
                close(p.get("dense").asDouble(), Scores.dot(floats(q.get("dense_vecs")), floats(d.get("dense_vecs"))), "dense");
            }
            Scores.M3 first = m3.m3Scores(queries.get(0), passages.get(0));
            close(exp.get("compute_score_single").get(0).get("colbert+sparse+dense").asDouble(), first.colbertSparseDense(), "one");
        }
    }

    @Test
    void denseModuleTruncateDimAndQuantizationMatchSentenceTransformers() {
        JsonNode exp = expected("dense-plus");
        JsonNode cases = exp.get("cases");
        try (EmbeddingPipeline st = EmbeddingPipeline.load(dir("dense-plus").toString())) {
            List<SentenceTransformers.Step> chain = st.sentenceTransformers().chain();
            assertEquals(2, chain.size());
            DenseModule dense = (DenseModule) chain.get(0);
            assertEquals(DenseModule.Function.TANH, dense.activation());
            assertTrue(st.sentenceTransformers().unsupported().isEmpty());
            List<String> texts = texts(cases);
            List<float[]> full = st.embedAll(texts, Options.defaults());
            List<float[]> cut = st.embedAll(texts, Options.defaults().dimensions(8));
            List<float[]> cutNorm = st.embedAll(texts, Options.defaults().dimensions(8).normalize(true));
            List<float[]> pooled = st.embedAll(texts, Options.defaults().pooling(EmbeddingPipeline.Pooling.MEAN));
            for (int k = 0; k < cases.size(); k++) {
                JsonNode c = cases.get(k);
                String where = "case " + k;
                closeAll(c.get("pooled"), pooled.get(k), where + " pooled");
                closeAll(c.get("dense"), dense.apply(floats(c.get("pooled"))), where + " dense of the reference pooled");
                closeAll(c.get("embedding"), full.get(k), where + " embedding");
                closeAll(c.get("truncate_dim_8"), cut.get(k), where + " truncate_dim 8");
                closeAll(c.get("truncate_dim_8_normalized"), cutNorm.get(k), where + " truncate_dim 8 normalized");
            }
            checkQuantized(exp.get("quantized"), cases, "embedding", full);
            checkQuantized(exp.get("quantized_truncate_dim_8"), cases, "truncate_dim_8", cut);
            checkQuantized(exp.get("quantized_truncate_dim_8_normalized"), cases, "truncate_dim_8_normalized", cutNorm);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> st.embed("x", Options.defaults().dimensions(17)));
            assertEquals("dimensions 17 is more than the 16 of the embedding", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> st.encode(List.of("x"), Options.defaults(), Set.of(Output.COLBERT)));
            assertTrue(e.getMessage().contains("no ColBERT output"), e.getMessage());
        }
    }

    /** Exact from the reference floats; from ours equal up to one step at bucket edges (none expected here). */
    private static void checkQuantized(JsonNode q, JsonNode cases, String field, List<float[]> ours) {
        List<float[]> ref = new ArrayList<>();
        for (JsonNode c : cases) {
            ref.add(floats(c.get(field)));
        }
        float[][] ranges = Quantization.ranges(ref);
        assertArrayEquals(floats(q.get("ranges").get(0)), ranges[0], field + " min");
        assertArrayEquals(floats(q.get("ranges").get(1)), ranges[1], field + " max");
        for (Precision p : List.of(Precision.INT8, Precision.UINT8, Precision.BINARY, Precision.UBINARY)) {
            JsonNode want = q.get(p.toString());
            int[][] fromRef = Quantization.quantize(ref, p, null);
            int[][] withRanges = Quantization.quantize(ref, p, new float[][] {floats(q.get("ranges").get(0)),
                    floats(q.get("ranges").get(1))});
            int[][] fromOurs = Quantization.quantize(ours, p, null);
            for (int i = 0; i < fromRef.length; i++) {
                String where = field + " " + p + " row " + i;
                assertArrayEquals(ints(want.get(i)), fromRef[i], where);
                assertArrayEquals(ints(want.get(i)), withRanges[i], where + " (given ranges)");
                int[] w = ints(want.get(i));
                for (int j = 0; j < w.length; j++) {
                    assertTrue(Math.abs(w[j] - fromOurs[i][j]) <= (p.packed() ? 0 : 1), where + " ours [" + j + "]");
                }
            }
        }
    }

    @Test
    void spladeMatchesSparseEncoder() {
        JsonNode exp = expected("splade-tiny");
        JsonNode cases = exp.get("cases");
        try (EmbeddingPipeline splade = EmbeddingPipeline.load(dir("splade-tiny").toString())) {
            assertEquals(Set.of(Output.SPARSE), splade.outputs());
            List<String> texts = texts(cases);
            List<SparseEmbedding> got = splade.sparseEmbeddings(texts, Options.defaults());
            for (int k = 0; k < cases.size(); k++) {
                JsonNode c = cases.get(k);
                assertEquals(c.get("nnz").asInt(), got.get(k).size(), "case " + k + " nnz");
                sameSparse(c.get("sparse"), got.get(k), "case " + k);
            }
            // max_active_dims: the 5 largest reference weights
            SparseEmbedding top = splade.sparseEmbeddings(List.of(texts.get(7)), Options.defaults().maxActiveDims(5)).get(0);
            List<Map.Entry<String, JsonNode>> ref = new ArrayList<>();
            cases.get(7).get("sparse").properties().forEach(ref::add);
            ref.sort((a, b) -> Double.compare(b.getValue().asDouble(), a.getValue().asDouble()));
            Set<Integer> want = new java.util.TreeSet<>();
            for (int i = 0; i < 5; i++) {
                want.add(Integer.parseInt(ref.get(i).getKey()));
            }
            assertEquals(want, new java.util.TreeSet<>(top.toMap().keySet()));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> splade.embed("x"));
            assertEquals("this is a SPLADE (sparse) model: ask for the sparse output", e.getMessage());
        }
        // the server opens sessions encoder-only: a SPLADE folder keeps its masked-LM head there
        try (ModelSession s = ModelSession.open(dir("splade-tiny"), true)) {
            SparseEmbedding v = s.embeddings().sparseEmbeddings(List.of(cases.get(0).get("text").asText()),
                    Options.defaults()).get(0);
            sameSparse(cases.get(0).get("sparse"), v, "encoder-only session");
        }
    }

    @Test
    void colbertOnEngineKernelsMatchesThePlainReferenceOnOddSizes() {
        java.util.Random r = new java.util.Random(7);
        int h = 37;
        int d = 29;
        float[] w = new float[d * h];
        float[] b = new float[d];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < d; i++) {
            b[i] = (float) r.nextGaussian();
        }
        M3Heads heads = new M3Heads(null, null, dev.xlmr.model.Tensor.of("weight", new int[] {d, h}, w),
                dev.xlmr.model.Tensor.of("bias", new int[] {d}, b));
        for (String name : dev.xlmr.engine.KernelProvider.NAMES) {
            if (!dev.xlmr.engine.KernelProvider.isAvailable(name)) {
                continue;
            }
            try (dev.xlmr.engine.Kernels k = dev.xlmr.engine.KernelProvider.create(name, 2)) {
                M3Heads.Fast fast = heads.pack(k);
                for (int n : new int[] {1, 2, 3, 13, 70}) {
                    float[][] hidden = new float[n][h];
                    for (float[] row : hidden) {
                        for (int j = 0; j < h; j++) {
                            row[j] = (float) r.nextGaussian();
                        }
                    }
                    float[][] ref = heads.colbertVectors(hidden);
                    float[][] got = heads.colbertVectors(hidden, fast);
                    assertEquals(n - 1, got.length);
                    for (int t = 0; t < ref.length; t++) {
                        for (int j = 0; j < d; j++) {
                            assertEquals(ref[t][j], got[t][j], 1e-5, name + " n " + n + " [" + t + "][" + j + "]");
                        }
                    }
                }
            }
        }
    }

    @Test
    void modelsWithoutExtraOutputsSayWhy() {
        try (EmbeddingPipeline plain = EmbeddingPipeline.load(Fixtures.dir("xlmr-base").toString())) {
            assertEquals(Set.of(Output.DENSE), plain.outputs());
            assertFalse(plain.supports(Output.SPARSE));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> plain.m3Scores("a", "b"));
            assertTrue(e.getMessage().startsWith("BGE-M3 scores need"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> plain.sparseEmbeddings(List.of("a"), Options.defaults()));
            assertTrue(e.getMessage().contains("no sparse output"), e.getMessage());
        }
    }
}
