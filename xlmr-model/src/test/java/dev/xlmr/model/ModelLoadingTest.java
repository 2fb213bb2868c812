package dev.xlmr.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** config.json fields, key layouts, dtypes and head/checkpoint mismatches. */
class ModelLoadingTest {
    @TempDir
    Path tmp;

    static final int[][] IDS = {{0, 581, 9, 2, 1}, {0, 35, 2, 1, 1}};
    static final int[][] MASK = {{1, 1, 1, 1, 0}, {1, 1, 1, 0, 0}};

    /** Copies a fixture folder's config and rewrites its weights, renaming and converting them. */
    private Path copy(String folder, String dtype, UnaryOperator<String> rename) throws IOException {
        Path src = Fixtures.dir(folder);
        Path dir = tmp.resolve(folder + "-" + dtype + "-" + System.nanoTime());
        Files.createDirectories(dir);
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        Map<String, SafetensorsWriter.Entry> tensors = new LinkedHashMap<>();
        try (Weights w = Weights.open(src.resolve("model.safetensors"))) {
            for (String name : w.names()) {
                float[] v = w.get(name).toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] = SafetensorsWriter.rounded(v[i], dtype);
                }
                tensors.put(rename.apply(name), new SafetensorsWriter.Entry(w.get(name).shape(), v));
            }
        }
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, dtype);
        return dir;
    }

    private static ModelOutput run(Path dir) {
        try (XlmRobertaModel m = XlmRobertaModel.load(dir)) {
            return m.forward(IDS, MASK, null);
        }
    }

    @Test
    void halfPrecisionWeightsAreComputedInFp32() throws IOException {
        for (String dtype : new String[] {"F16", "BF16"}) {
            // Same values stored as F32: the forward pass must be identical.
            Path half = copy("xlmr-seqcls", dtype, n -> n);
            Path widened = tmp.resolve("widened-" + dtype);
            Files.createDirectories(widened);
            Files.copy(half.resolve("config.json"), widened.resolve("config.json"));
            Map<String, SafetensorsWriter.Entry> t = new LinkedHashMap<>();
            try (Weights w = Weights.open(half)) {
                for (String name : w.names()) {
                    t.put(name, new SafetensorsWriter.Entry(w.get(name).shape(), w.get(name).toFloatArray()));
                }
            }
            SafetensorsWriter.write(widened.resolve("model.safetensors"), t, "F32");
            assertEquals(run(widened).get("logits"), run(half).get("logits"), dtype);
            assertNotEquals(run(Fixtures.dir("xlmr-seqcls")).get("logits"), run(half).get("logits"), "rounded for real");
        }
    }

    @Test
    void oldLayerNormGammaBetaNames() throws IOException {
        Path old = copy("xlmr-seqcls", "F32", n -> n.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"));
        try (Weights w = Weights.open(old)) {
            assertTrue(w.contains("roberta.embeddings.LayerNorm.gamma"));
        }
        assertEquals(run(Fixtures.dir("xlmr-seqcls")).get("logits"), run(old).get("logits"));
    }

    @Test
    void baseModelFromATaskCheckpointIgnoresTheHeadAndSaysSo() throws IOException {
        Path dir = tmp.resolve("base-from-seqcls");
        Files.createDirectories(dir);
        Files.copy(Fixtures.dir("xlmr-base").resolve("config.json"), dir.resolve("config.json"));
        Files.copy(Fixtures.dir("xlmr-seqcls").resolve("model.safetensors"), dir.resolve("model.safetensors"));
        JsonNode c = Fixtures.json(Fixtures.dir("xlmr-seqcls").resolve("expected.json")).get("cases").get(0);
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        ModelOutput out;
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            try (XlmRobertaModel m = XlmRobertaModel.load(dir)) {
                out = m.forward(Fixtures.ints2(c.get("input_ids")), Fixtures.ints2(c.get("attention_mask")), null);
            }
        } finally {
            System.setErr(err);
        }
        ReferenceOutputsTest.assertClose(c.get("last_hidden_state"), out.get("last_hidden_state"), "base from seqcls");
        assertFalse(out.has("pooler_output"), "the task checkpoint has no pooler");
        String log = captured.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("were not used by XLMRobertaModel: classifier.dense.bias"), log);
        assertEquals(1, log.lines().filter(l -> l.contains("were not used")).count(), log);
    }

    @Test
    void taskModelFromABaseCheckpointNamesTheMissingHead() throws IOException {
        Path dir = tmp.resolve("seqcls-from-base");
        Files.createDirectories(dir);
        Files.copy(Fixtures.dir("xlmr-seqcls").resolve("config.json"), dir.resolve("config.json"));
        Files.copy(Fixtures.dir("xlmr-base").resolve("model.safetensors"), dir.resolve("model.safetensors"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> XlmRobertaModel.load(dir));
        assertTrue(e.getMessage().contains("has no XLMRobertaForSequenceClassification head: missing classifier.dense.weight,"
                + " classifier.dense.bias, classifier.out_proj.weight, classifier.out_proj.bias"), e.getMessage());
    }

    @Test
    void resolvedTensorsForEngines() {
        try (XlmRobertaModel mlm = XlmRobertaModel.load(Fixtures.dir("xlmr-mlm"))) {
            Map<String, Tensor> t = mlm.tensors();
            assertTrue(t.get("lm_head.decoder.weight") == t.get("embeddings.word_embeddings.weight"), "tied");
            assertEquals(8002, t.get("lm_head.bias").dim(0));
            assertTrue(t.containsKey("encoder.layer.1.output.LayerNorm.weight"));
            assertFalse(t.keySet().stream().anyMatch(k -> k.startsWith("roberta.")));
            assertEquals(5 + 2 * 16 + 6, t.size());
        }
    }

    @Test
    void untiedLmHeadNeedsItsDecoder() throws IOException {
        Path dir = copy("xlmr-mlm", "F32", n -> n);
        String config = Files.readString(dir.resolve("config.json")).replace("{", "{\"tie_word_embeddings\": false,");
        Files.writeString(dir.resolve("config.json"), config);
        CheckpointException e = assertThrows(CheckpointException.class, () -> XlmRobertaModel.load(dir));
        assertTrue(e.getMessage().contains("has no XLMRobertaForMaskedLM head: missing lm_head.decoder.weight"), e.getMessage());
    }

    @Test
    void tensorsOfTheWrongShapeAreNamed() throws IOException {
        Path dir = copy("xlmr-qa", "F32", n -> n);
        String config = Files.readString(dir.resolve("config.json")).replace("\"intermediate_size\": 64", "\"intermediate_size\": 65");
        Files.writeString(dir.resolve("config.json"), config);
        CheckpointException e = assertThrows(CheckpointException.class, () -> XlmRobertaModel.load(dir));
        assertTrue(e.getMessage().contains("roberta.encoder.layer.0.intermediate.dense.weight is [64, 32], expected [65, 32]"),
                e.getMessage());
    }

    @Test
    void sentenceTransformersFolderWithTheModelInASubfolder() throws IOException {
        Path dir = tmp.resolve("st");
        Path sub = dir.resolve("0_Transformer");
        Files.createDirectories(sub);
        Files.copy(Fixtures.dir("xlmr-base").resolve("config.json"), sub.resolve("config.json"));
        Files.copy(Fixtures.dir("xlmr-base").resolve("model.safetensors"), sub.resolve("model.safetensors"));
        Files.writeString(dir.resolve("modules.json"),
                "[{\"idx\":0,\"name\":\"0\",\"path\":\"0_Transformer\",\"type\":\"sentence_transformers.models.Transformer\"}]");
        assertEquals(run(Fixtures.dir("xlmr-base")).get("pooler_output"), run(dir).get("pooler_output"));
    }

    @Test
    void configFieldsThatChangeTheMath() {
        ModelConfig seq = ModelConfig.load(Fixtures.dir("xlmr-seqcls").resolve("config.json"));
        assertEquals(Head.SEQUENCE_CLASSIFICATION, seq.head());
        assertEquals(3, seq.numLabels());
        assertEquals(Map.of(0, "negative", 1, "neutral", 2, "positive"), seq.id2label());
        assertEquals(2, seq.label2id().get("positive"));
        assertEquals(128, seq.maxSequenceLength());
        assertEquals(Activation.GELU, seq.hiddenAct());
        assertFalse(seq.isDecoder());
        ModelConfig causal = ModelConfig.load(Fixtures.dir("xlmr-causal").resolve("config.json"));
        assertTrue(causal.isDecoder());
        assertEquals(Head.CAUSAL_LM, causal.head());
        ModelConfig xl = ModelConfig.load(Fixtures.dir("xlmr-xl-mlm").resolve("config.json"));
        assertTrue(xl.preLayerNorm());
        assertEquals(1e-5, xl.layerNormEps());
        assertEquals(Head.MASKED_LM, xl.head());
        assertEquals("XLMRobertaXLForMaskedLM", xl.architecture());
        ModelConfig bare = ModelConfig.parse("{\"model_type\":\"xlm-roberta\",\"vocab_size\":10,\"hidden_size\":8,"
                + "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"intermediate_size\":16,\"hidden_act\":\"gelu_new\","
                + "\"problem_type\":\"regression\",\"num_labels\":1}", "inline");
        assertEquals("XLMRobertaModel", bare.architecture());
        assertEquals(Activation.GELU_TANH, bare.hiddenAct());
        assertEquals("regression", bare.problemType());
        assertEquals(1, bare.numLabels());
    }

    @Test
    void configsThatAreNotXlmRobertaAreRefused() {
        String ok = "\"vocab_size\":10,\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"intermediate_size\":16";
        assertConfigError("{\"model_type\":\"bert\"," + ok + "}", "model_type 'bert' is not XLM-RoBERTa");
        assertConfigError("{" + ok + "}", "model_type '' is not XLM-RoBERTa");
        assertConfigError("{\"model_type\":\"xlm-roberta\",\"architectures\":[\"BertForMaskedLM\"]," + ok + "}",
                "architecture 'BertForMaskedLM' is not one of the xlm-roberta models");
        assertConfigError("{\"model_type\":\"xlm-roberta-xl\",\"architectures\":[\"XLMRobertaForMaskedLM\"]," + ok + "}",
                "architecture 'XLMRobertaForMaskedLM' is not one of the xlm-roberta-xl models");
        assertConfigError("{\"model_type\":\"xlm-roberta\",\"hidden_act\":\"mish\"," + ok + "}", "hidden_act 'mish'");
        assertConfigError("{\"model_type\":\"xlm-roberta\"," + ok.replace("\"hidden_size\":8,", "") + "}", "missing hidden_size");
        assertConfigError("{\"model_type\":\"xlm-roberta\"," + ok.replace("\"hidden_size\":8", "\"hidden_size\":9") + "}",
                "not a multiple of num_attention_heads");
        assertConfigError("{\"model_type\":\"xlm-roberta\",\"position_embedding_type\":\"relative_key\"," + ok + "}",
                "relative_key");
        assertConfigError("not json", "not valid JSON");
    }

    private static void assertConfigError(String json, String part) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelConfig.parse(json, "cfg.json"));
        assertTrue(e.getMessage().startsWith("cfg.json: ") && e.getMessage().contains(part), e.getMessage());
    }
}
