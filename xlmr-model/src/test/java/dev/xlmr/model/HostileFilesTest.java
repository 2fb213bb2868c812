package dev.xlmr.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crafted files from the hostile run of issue 17, built from the fixtures: each gives a
 * CheckpointException whose message names the file and the field, never another throwable and
 * never a silently wrong result.
 */
class HostileFilesTest {
    @TempDir
    Path tmp;

    private static final ObjectMapper OM = new ObjectMapper();

    /** The seqcls fixture with its config.json edited. */
    private Path withConfig(Consumer<ObjectNode> edit) throws IOException {
        Path src = Fixtures.dir("xlmr-seqcls");
        Path dir = Files.createDirectories(tmp.resolve("m" + System.nanoTime()));
        ObjectNode c = (ObjectNode) OM.readTree(src.resolve("config.json").toFile());
        edit.accept(c);
        OM.writeValue(dir.resolve("config.json").toFile(), c);
        Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        return dir;
    }

    private static String loadError(Path dir) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> XlmRobertaModel.load(dir).close());
        return e.getMessage();
    }

    private static void assertHas(String message, String part) {
        assertTrue(message.contains(part), "expected '" + part + "' in: " + message);
    }

    @Test
    void absurdLayerCountsAreCheckedAgainstTheCheckpointBeforeAllocating() throws IOException {
        for (int layers : new int[] {Integer.MAX_VALUE, 10_000_000, 3}) {
            Path dir = withConfig(c -> c.put("num_hidden_layers", layers));
            String m = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> loadError(dir));
            assertHas(m, "config.json: num_hidden_layers is " + layers + " but model.safetensors holds 2 encoder layers");
        }
    }

    @Test
    void absurdHiddenSizesFailOnTheTensorShapes() throws IOException {
        Path dir = withConfig(c -> c.put("hidden_size", 1 << 30).put("num_attention_heads", 1)
                .put("intermediate_size", Integer.MAX_VALUE).put("vocab_size", Integer.MAX_VALUE - 1));
        String m = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> loadError(dir));
        assertHas(m, "model.safetensors: tensors do not fit XLMRobertaForSequenceClassification");
        assertHas(m, "embeddings.word_embeddings.weight is [8002, 32], expected [2147483646, 1073741824]");
    }

    @Test
    void configThatIsNotUtf8() throws IOException {
        Path dir = withConfig(c -> { });
        byte[] cfg = Files.readAllBytes(dir.resolve("config.json"));
        int at = new String(cfg, StandardCharsets.US_ASCII).indexOf("negative");
        cfg[at] = (byte) 0xFF;
        Files.write(dir.resolve("config.json"), cfg);
        String m = loadError(dir);
        assertHas(m, "config.json: not UTF-8 text (byte 0xff at offset " + at + ")");
        assertTrue(!m.contains("Input length"), m);
    }

    @Test
    void trailingBytesAfterTheConfig() throws IOException {
        Path dir = withConfig(c -> { });
        Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json")) + "\n{\"x\": 1}");
        assertHas(loadError(dir), "config.json: not valid JSON: trailing data after the JSON value");
        Files.writeString(dir.resolve("config.json"), Files.readString(Fixtures.dir("xlmr-seqcls").resolve("config.json"))
                + " garbage");
        assertHas(loadError(dir), "config.json: not valid JSON: trailing data after the JSON value");
        // whitespace after the value is fine
        Files.writeString(dir.resolve("config.json"), Files.readString(Fixtures.dir("xlmr-seqcls").resolve("config.json"))
                + " \n\t ");
        XlmRobertaModel.load(dir).close();
    }

    @Test
    void wronglyTypedFieldsAreRefusedNotCoerced() throws IOException {
        assertHas(loadError(withConfig(c -> c.put("layer_norm_eps", "1e-5"))),
                "config.json: layer_norm_eps is not a number: \"1e-5\"");
        assertHas(loadError(withConfig(c -> c.put("layer_norm_eps", true))), "layer_norm_eps is not a number: true");
        assertHas(loadError(withConfig(c -> c.put("is_decoder", "false"))), "is_decoder is not true or false: \"false\"");
        assertHas(loadError(withConfig(c -> c.put("hidden_act", 3))), "hidden_act is not a string: 3");
        assertHas(loadError(withConfig(c -> c.put("num_hidden_layers", "x".repeat(1_000_000)))),
                "num_hidden_layers is not an integer: \"xxxxxxxx");
        String echoed = loadError(withConfig(c -> c.put("num_hidden_layers", "x".repeat(1_000_000))));
        assertTrue(echoed.length() < 300, "a huge value is not echoed whole: " + echoed.length() + " chars");
        assertHas(loadError(withConfig(c -> c.putObject("label2id").put("a", "0"))), "label2id['a'] is not an integer");
    }

    @Test
    void id2labelMustBeExactlyTheLabelIndexes() throws IOException {
        assertHas(loadError(withConfig(c -> c.putObject("id2label").put("0", "a").put("5", "b").put("2", "c"))),
                "config.json: id2label key '5' is outside 0..2; the keys must be the label indexes 0 to n-1");
        assertHas(loadError(withConfig(c -> c.putObject("id2label").put("0", "a").put("00", "b").put("2", "c"))),
                "id2label has label 0 twice");
        assertHas(loadError(withConfig(c -> c.putObject("id2label").put("0", "a").put("1", "b").put("-1", "c"))),
                "id2label key '-1' is outside 0..2");
        assertHas(loadError(withConfig(c -> c.putObject("id2label").put("0", "a").put("1", 7).put("2", "c"))),
                "id2label['1'] is not a string: 7");
        try (XlmRobertaModel m = XlmRobertaModel.load(withConfig(c -> c.putObject("id2label")
                .put("2", "c").put("0", "a").put("1", "b")))) {
            assertEquals(Map.of(0, "a", 1, "b", 2, "c"), m.config().id2label(), "any key order, kept exactly");
        }
    }

    @Test
    void safetensorsHeaderWithTrailingBytesOrBadUtf8() throws IOException {
        Map<String, SafetensorsWriter.Entry> one = new LinkedHashMap<>();
        one.put("w", new SafetensorsWriter.Entry(new int[] {2}, new float[] {1, 2}));
        Path f = tmp.resolve("model.safetensors");
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        SafetensorsWriter.writeRaw(f, header + "   ", new byte[8]); // space padding, as safetensors writes it
        try (Weights w = Weights.open(f)) {
            assertEquals(2, w.shape("w")[0]);
        }
        SafetensorsWriter.writeRaw(f, header + "{}", new byte[8]);
        assertHas(assertThrows(CheckpointException.class, () -> Weights.open(f)).getMessage(),
                "model.safetensors: safetensors header is not valid JSON: trailing data after the JSON value");
        SafetensorsWriter.writeRaw(f, header + "\0\0", new byte[8]);
        assertHas(assertThrows(CheckpointException.class, () -> Weights.open(f)).getMessage(),
                "trailing data after the JSON value");
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        h[3] = (byte) 0xC3; // a lead byte without its continuation
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
        Files.write(f, b.array());
        assertHas(assertThrows(CheckpointException.class, () -> Weights.open(f)).getMessage(),
                "model.safetensors: safetensors header: not UTF-8 text (byte 0xc3 at offset 3)");
    }

    @Test
    void shardIndexThatNamesAnIndex() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("sharded"));
        Files.copy(Fixtures.dir("xlmr-base").resolve("model.safetensors"), dir.resolve("model-00001.safetensors"));
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, "{\"weight_map\": {\"embeddings.word_embeddings.weight\": \"model.safetensors.index.json\"}}");
        CheckpointException e = assertThrows(CheckpointException.class, () -> Weights.open(index));
        assertHas(e.getMessage(), "model.safetensors.index.json: weight_map['embeddings.word_embeddings.weight'] names"
                + " 'model.safetensors.index.json'; a shard must be a .safetensors or .bin file");
        Files.writeString(dir.resolve("other.index.json"), "{\"weight_map\": {\"a\": \"model.safetensors.index.json\"}}");
        Files.writeString(index, "{\"weight_map\": {\"a\": \"other.index.json\"}}");
        assertHas(assertThrows(CheckpointException.class, () -> Weights.open(index)).getMessage(),
                "names 'other.index.json'; a shard must be");
        Files.writeString(index, "{\"weight_map\": {\"a\": 5}}");
        assertHas(assertThrows(CheckpointException.class, () -> Weights.open(index)).getMessage(),
                "weight_map['a'] is not a file name");
        Files.write(index, new byte[] {'{', (byte) 0xFE, '}'});
        assertHas(assertThrows(CheckpointException.class, () -> Weights.open(index)).getMessage(),
                "model.safetensors.index.json: not UTF-8 text (byte 0xfe at offset 1)");
        Files.writeString(index, "{\"weight_map\": {\"embeddings.word_embeddings.weight\": \"model-00001.safetensors\"}}");
        try (Weights w = Weights.open(index)) {
            assertEquals(1, w.names().size());
        }
    }

    @Test
    void nanAndInfWeightsGiveAnErrorNamingTheTensorNotNaNOutput() throws IOException {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            Path src = Fixtures.dir("xlmr-seqcls");
            Path dir = Files.createDirectories(tmp.resolve("nan" + System.nanoTime()));
            Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
            Map<String, SafetensorsWriter.Entry> tensors = new LinkedHashMap<>();
            try (Weights w = Weights.open(src.resolve("model.safetensors"))) {
                for (String name : w.names()) {
                    float[] v = w.get(name).toFloatArray();
                    if (name.endsWith("encoder.layer.1.output.dense.bias")) {
                        v[5] = bad;
                    }
                    tensors.put(name, new SafetensorsWriter.Entry(w.get(name).shape(), v));
                }
            }
            SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, "F32");
            try (XlmRobertaModel m = XlmRobertaModel.load(dir)) {
                NonFiniteOutputException e = assertThrows(NonFiniteOutputException.class,
                        () -> m.forward(new int[][] {{0, 581, 2}}, null, null));
                assertHas(e.getMessage(), "the model's output 'last_hidden_state' holds");
                assertHas(e.getMessage(), "tensor 'encoder.layer.1.output.dense.bias' of model.safetensors holds NaN"
                        + " or infinite values");
            }
        }
    }

    @Test
    void firstNonFiniteMatchesAPlainScan() {
        java.util.Random r = new java.util.Random(3);
        for (int n : new int[] {0, 1, 7, 4095, 4096, 4097, 10_001}) {
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE}) {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = (float) r.nextGaussian() * 1e30f;
                }
                if (n > 0) {
                    v[r.nextInt(n)] = bad;
                }
                int plain = -1;
                for (int i = 0; i < n && plain < 0; i++) {
                    if (!Float.isFinite(v[i])) {
                        plain = i;
                    }
                }
                assertEquals(plain, ModelOutput.firstNonFinite(v), "n=" + n + " bad=" + bad);
            }
        }
    }
}
