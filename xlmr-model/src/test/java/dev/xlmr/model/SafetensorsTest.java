package dev.xlmr.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading safetensors, and refusing damaged or hostile files with a clear message. */
class SafetensorsTest {
    @TempDir
    Path tmp;

    @Test
    void readsF32InPlaceAndConvertsF16AndBf16() {
        float[] values = {1.5f, -2.25f, 0.125f, 3.0e-3f, 65504f, -0f};
        for (String dtype : new String[] {"F32", "F16", "BF16"}) {
            Path f = tmp.resolve(dtype + ".safetensors");
            SafetensorsWriter.write(f, Map.of("w", new SafetensorsWriter.Entry(new int[] {2, 3}, values)), dtype);
            try (Weights w = Weights.open(f)) {
                Tensor t = w.get("w");
                assertArrayEquals(new int[] {2, 3}, t.shape());
                for (int i = 0; i < values.length; i++) {
                    assertEquals(SafetensorsWriter.rounded(values[i], dtype), t.get(i), dtype + " element " + i);
                }
                assertEquals(SafetensorsWriter.rounded(values[3], dtype), t.get(1, 0));
                assertTrue(w.get("w") == t, "converted once, then cached");
                assertEquals(dtype.equals("F32"), t.segment().isMapped(), "F32 is a view of the mapped file");
            }
        }
    }

    @Test
    void nonFloatTensorsAreListedButNotReadAsWeights() {
        Path f = tmp.resolve("ids.safetensors");
        SafetensorsWriter.writeRaw(f, "{\"position_ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", new byte[16]);
        try (Weights w = Weights.open(f)) {
            assertTrue(w.contains("position_ids"));
            CheckpointException e = assertThrows(CheckpointException.class, () -> w.get("position_ids"));
            assertTrue(e.getMessage().contains("I64"), e.getMessage());
            e = assertThrows(CheckpointException.class, () -> w.get("absent"));
            assertTrue(e.getMessage().contains("no tensor 'absent'"), e.getMessage());
        }
    }

    private String failure(String header, byte[] data) {
        Path f = tmp.resolve("bad.safetensors");
        SafetensorsWriter.writeRaw(f, header, data);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Weights.open(f).close());
        assertTrue(e.getMessage().startsWith("bad.safetensors: "), e.getMessage());
        return e.getMessage();
    }

    private static void assertHas(String message, String part) {
        assertTrue(message.contains(part), "expected '" + part + "' in: " + message);
    }

    @Test
    void refusesBadHeaders() {
        assertHas(failure("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "unknown dtype \"Q7\"");
        assertHas(failure("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4]), "needs 8 bytes but data_offsets span 4");
        assertHas(failure("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[2]), "past the data (2 bytes)");
        assertHas(failure("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", new byte[4]), "bad data_offsets");
        assertHas(failure("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", new byte[4]), "bad data_offsets");
        assertHas(failure("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "'a' and 'b' overlap");
        assertHas(failure("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                + "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "'a' and 'c' overlap");
        assertHas(failure("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]), "bad dimension");
        assertHas(failure("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,4]}}",
                new byte[4]), "too large");
        assertHas(failure("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]), "data_offsets");
        assertHas(failure("{\"a\":", new byte[0]), "not valid JSON");
        assertHas(failure("[1,2]", new byte[0]), "not a JSON object");
    }

    @Test
    void refusesHeaderLengthsThatDoNotFitTheFile() throws IOException {
        Path f = tmp.resolve("bad.safetensors");
        byte[] b = new byte[16];
        b[0] = (byte) 0xff; b[1] = (byte) 0xff; b[2] = (byte) 0xff; b[3] = (byte) 0x7f; // 2 GB header in 16 bytes
        Files.write(f, b);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Weights.open(f));
        assertHas(e.getMessage(), "header length 2147483647 does not fit the file (16 bytes)");
        b = new byte[] {0, 0, 0, 0, 0, 0, 0, (byte) 0x80}; // negative as a signed long
        Files.write(f, b);
        e = assertThrows(CheckpointException.class, () -> Weights.open(f));
        assertHas(e.getMessage(), "does not fit the file");
        Files.write(f, new byte[5]);
        e = assertThrows(CheckpointException.class, () -> Weights.open(f));
        assertHas(e.getMessage(), "bad.safetensors: truncated safetensors file (5 bytes");
    }

    @Test
    void truncatedCopyOfARealCheckpointIsRefused() throws IOException {
        byte[] real = Files.readAllBytes(Fixtures.dir("xlmr-qa").resolve("model.safetensors"));
        Path f = tmp.resolve("model.safetensors");
        Files.write(f, java.util.Arrays.copyOf(real, real.length - 100));
        CheckpointException e = assertThrows(CheckpointException.class, () -> Weights.open(f));
        assertHas(e.getMessage(), "truncated or corrupt");
    }

    @Test
    void missingFolderOrWeightsAreClearErrors() {
        CheckpointException e = assertThrows(CheckpointException.class, () -> Weights.open(tmp));
        assertHas(e.getMessage(), "no model weights");
        e = assertThrows(CheckpointException.class, () -> Weights.open(tmp.resolve("nope.safetensors")));
        assertHas(e.getMessage(), "nope.safetensors: no such file or folder");
        e = assertThrows(CheckpointException.class, () -> XlmRobertaModel.load(tmp));
        assertHas(e.getMessage(), "config.json: no such file");
    }

    @Test
    void shardedIndexLoadsEveryShard() throws IOException {
        Path src = Fixtures.dir("xlmr-seqcls");
        Path dir = tmp.resolve("sharded");
        Files.createDirectories(dir);
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        Map<String, SafetensorsWriter.Entry> a = new LinkedHashMap<>();
        Map<String, SafetensorsWriter.Entry> b = new LinkedHashMap<>();
        StringBuilder index = new StringBuilder("{\"metadata\":{},\"weight_map\":{");
        try (Weights w = Weights.open(src.resolve("model.safetensors"))) {
            int i = 0;
            for (String name : w.names()) {
                Tensor t = w.get(name);
                (i % 2 == 0 ? a : b).put(name, new SafetensorsWriter.Entry(t.shape(), t.toFloatArray()));
                index.append(i == 0 ? "" : ",").append('"').append(name).append("\":\"model-0000")
                        .append(i % 2 + 1).append("-of-00002.safetensors\"");
                i++;
            }
        }
        SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), a, "F32");
        SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), b, "F32");
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.append("}}").toString());
        int[][] ids = {{0, 581, 9, 2}};
        try (XlmRobertaModel sharded = XlmRobertaModel.load(dir); XlmRobertaModel single = XlmRobertaModel.load(src)) {
            assertEquals(single.forward(ids, null, null).get("logits"), sharded.forward(ids, null, null).get("logits"));
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\":{\"x\":\"../../etc/passwd\"}}");
        CheckpointException e = assertThrows(CheckpointException.class, () -> XlmRobertaModel.load(dir));
        assertHas(e.getMessage(), "must be a file next to the index");
    }
}
