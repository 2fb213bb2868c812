package dev.xlmr.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** pytorch_model.bin: the restricted unpickler and the zip reader, on hand-made archives. */
class TorchCheckpointTest {
    @TempDir
    Path tmp;

    /** Emits pickle opcodes (protocol 2, plus the protocol-4 ones named). */
    static final class Pickle {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle op(int... bytes) {
            for (int b : bytes) {
                out.write(b);
            }
            return this;
        }

        Pickle global(String module, String name) {
            out.write('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
            return this;
        }

        Pickle str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.write('X');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
            out.writeBytes(b);
            return this;
        }

        Pickle integer(int v) {
            out.write('J');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
            return this;
        }

        /** A tensor of the given storage key, dtype class, offset, shape and stride. */
        Pickle tensor(String storageClass, String key, int storageNumel, int offset, int[] shape, int[] stride) {
            global("torch._utils", "_rebuild_tensor_v2").op('(');
            op('(').str("storage").global("torch", storageClass).str(key).str("cpu").integer(storageNumel).op('t', 'Q');
            integer(offset).op('(');
            for (int d : shape) {
                integer(d);
            }
            op('t', '(');
            for (int s : stride) {
                integer(s);
            }
            op('t', 0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R');
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    /** A torch.save-style zip (stored entries). */
    static void writeZip(Path file, byte[] pkl, Map<String, byte[]> storages) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            stored(zip, "archive/data.pkl", pkl);
            for (Map.Entry<String, byte[]> e : storages.entrySet()) {
                stored(zip, "archive/data/" + e.getKey(), e.getValue());
            }
            stored(zip, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    private String failure(byte[] pkl, Map<String, byte[]> storages) throws IOException {
        Path f = tmp.resolve("pytorch_model.bin");
        writeZip(f, pkl, storages);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Weights.open(f).close());
        assertTrue(e.getMessage().startsWith("pytorch_model.bin"), e.getMessage());
        return e.getMessage();
    }

    private static void assertHas(String message, String part) {
        assertTrue(message.contains(part), "expected '" + part + "' in: " + message);
    }

    @Test
    void readsAHandWrittenStateDict() throws IOException {
        Pickle p = new Pickle().op(0x80, 2).op('}', '(').str("w")
                .tensor("FloatStorage", "0", 6, 2, new int[] {2, 2}, new int[] {2, 1})
                .str("h").tensor("HalfStorage", "1", 1, 0, new int[] {1}, new int[] {1})
                .op('u', '.');
        Path f = tmp.resolve("pytorch_model.bin");
        byte[] half = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort(Float.floatToFloat16(-1.5f)).array();
        writeZip(f, p.bytes(), Map.of("0", floats(9, 9, 1, 2, 3, 4), "1", half));
        try (Weights w = Weights.open(f)) {
            Tensor t = w.get("w");
            assertEquals(1f, t.get(0, 0));
            assertEquals(4f, t.get(1, 1));
            assertTrue(t.segment().isMapped(), "F32 storage used in place");
            assertEquals(-1.5f, w.get("h").get(0));
        }
    }

    @Test
    void refusesForbiddenGlobalsWithoutRunningThem() throws IOException {
        // The classic exploit: os.system("touch ...") through REDUCE.
        Path marker = tmp.resolve("pwned");
        byte[] exploit = new Pickle().op(0x80, 2).global("os", "system").str("touch " + marker).op(0x85, 'R', '.').bytes();
        assertHas(failure(exploit, Map.of()), "global 'os.system', which is not allowed");
        assertTrue(Files.notExists(marker));
        // Protocol 4 spells globals with STACK_GLOBAL.
        byte[] eval = new Pickle().op(0x80, 4).str("builtins").str("eval").op(0x93).str("1+1").op(0x85, 'R', '.').bytes();
        assertHas(failure(eval, Map.of()), "global 'builtins.eval'");
        byte[] sneaky = new Pickle().op(0x80, 2).global("torch", "load").op('.').bytes();
        assertHas(failure(sneaky, Map.of()), "global 'torch.load'");
    }

    @Test
    void refusesOpcodesOutsideTheWeightsOnlySet() throws IOException {
        byte[] inst = new Pickle().op(0x80, 2).op('(').op('i').bytes(); // INST: import and call by name
        assertHas(failure(inst, Map.of()), "unsupported pickle opcode 0x69");
        byte[] newobj = new Pickle().op(0x80, 2).global("collections", "OrderedDict").op(')', 0x81, '.').bytes();
        assertHas(failure(newobj, Map.of()), "unsupported pickle opcode 0x81");
    }

    @Test
    void refusesTensorsThatDoNotFitTheirStorage() throws IOException {
        byte[] tooBig = new Pickle().op(0x80, 2).op('}').str("w")
                .tensor("FloatStorage", "0", 4, 0, new int[] {2, 2}, new int[] {2, 1}).op('s', '.').bytes();
        assertHas(failure(tooBig, Map.of("0", floats(1, 2))), "declared as 4 x F32 (16 bytes), the archive has 8 bytes");
        byte[] past = new Pickle().op(0x80, 2).op('}').str("w")
                .tensor("FloatStorage", "0", 4, 2, new int[] {2, 2}, new int[] {2, 1}).op('s', '.').bytes();
        assertHas(failure(past, Map.of("0", floats(1, 2, 3, 4))), "reaches past the end of its storage");
        byte[] emptyPast = new Pickle().op(0x80, 2).op('}').str("w")
                .tensor("FloatStorage", "0", 1, 5, new int[] {0}, new int[] {1}).op('s', '.').bytes();
        assertHas(failure(emptyPast, Map.of("0", floats(1))), "reaches past the end of its storage");
        byte[] strided = new Pickle().op(0x80, 2).op('}').str("w")
                .tensor("FloatStorage", "0", 4, 0, new int[] {2, 2}, new int[] {1, 2}).op('s', '.').bytes();
        assertHas(failure(strided, Map.of("0", floats(1, 2, 3, 4))), "is not contiguous");
        byte[] absent = new Pickle().op(0x80, 2).op('}').str("w")
                .tensor("FloatStorage", "7", 1, 0, new int[] {1}, new int[] {1}).op('s', '.').bytes();
        assertHas(failure(absent, Map.of()), "storage 7, absent from the archive");
        byte[] truncated = new Pickle().op(0x80, 2).op('}').str("w").bytes();
        assertHas(failure(truncated, Map.of()), "truncated pickle");
        byte[] badMemo = new Pickle().op(0x80, 2).op('h', 5).bytes();
        assertHas(failure(badMemo, Map.of()), "memo 5 that was never stored");
    }

    @Test
    void refusesContainersAsDictKeysInsteadOfRecursing() throws IOException {
        // a dict holding itself as a key: hashing it would recurse until StackOverflowError
        byte[] selfKey = new Pickle().op(0x80, 2).op('}', 'q', 0, 'h', 0).integer(1).op('s', '.').bytes();
        assertHas(failure(selfKey, Map.of()), "a dict key at offset 12 is a dict; a weights file keys its dicts by strings");
        // a tuple holding a list that holds the tuple, used as a key
        byte[] cycle = new Pickle().op(0x80, 2).op(']', 'q', 0, 'h', 0, 0x85, 'q', 1, 'a')
                .op('}', 'h', 1).integer(1).op('s', '.').bytes();
        assertHas(failure(cycle, Map.of()), "is a tuple; a weights file keys its dicts by strings");
        // a million nested tuples as a key
        Pickle deep = new Pickle().op(0x80, 2).op('}', ')');
        for (int i = 0; i < 1_000_000; i++) {
            deep.op(0x85);
        }
        assertHas(failure(deep.integer(1).op('s', '.').bytes(), Map.of()), "is a tuple");
    }

    @Test
    void deeplyNestedValuesLoadWithoutRecursion() throws IOException {
        // a state dict whose one value is a list nested a million deep: no tensors, and no StackOverflowError
        Pickle deep = new Pickle().op(0x80, 2).op('}').str("x").op(']');
        for (int i = 0; i < 1_000_000; i++) {
            deep.op(']', 'a');
        }
        deep.op('s', '.');
        Path f = tmp.resolve("pytorch_model.bin");
        writeZip(f, deep.bytes(), Map.of());
        try (Weights w = Weights.open(f)) {
            assertTrue(w.names().isEmpty());
        }
    }

    @Test
    void refusesPicklesThatBuildTooManyValues() throws IOException {
        Pickle p = new Pickle().op(0x80, 2);
        for (long i = 0; i <= TorchPickle.MAX_OPCODES; i++) {
            p.op('N');
        }
        assertHas(failure(p.bytes(), Map.of()), "more than " + TorchPickle.MAX_OPCODES + " opcodes");
    }

    @Test
    void refusesAStorageRelabelledWithAnotherDtype() throws IOException {
        // 4 floats declared as a HalfStorage of 4: the archive has twice the bytes a HalfStorage of 4 takes
        byte[] half = new Pickle().op(0x80, 2).op('}').str("w")
                .tensor("HalfStorage", "0", 4, 0, new int[] {4}, new int[] {1}).op('s', '.').bytes();
        assertHas(failure(half, Map.of("0", floats(1, 2, 3, 4))),
                "storage 0 is declared as 4 x F16 (8 bytes), the archive has 16 bytes; its dtype or size is wrong");
        byte[] bf16 = new Pickle().op(0x80, 2).op('}').str("w")
                .tensor("BFloat16Storage", "0", 4, 0, new int[] {4}, new int[] {1}).op('s', '.').bytes();
        assertHas(failure(bf16, Map.of("0", floats(1, 2, 3, 4))), "declared as 4 x BF16 (8 bytes)");
    }

    @Test
    void refusesFilesThatAreNotTorchZips() throws IOException {
        Path f = tmp.resolve("pytorch_model.bin");
        Files.write(f, new byte[] {(byte) 0x80, 2, 'N', '.'}); // a legacy (pre-zip) torch file
        CheckpointException e = assertThrows(CheckpointException.class, () -> Weights.open(f));
        assertHas(e.getMessage(), "not a zip archive");
        byte[] real = Files.readAllBytes(Fixtures.dir("xlmr-seqcls").resolve("pytorch_model.bin"));
        Files.write(f, java.util.Arrays.copyOf(real, real.length / 2));
        e = assertThrows(CheckpointException.class, () -> Weights.open(f));
        assertHas(e.getMessage(), "pytorch_model.bin: ");
        // a zip with compressed entries
        try (OutputStream os = Files.newOutputStream(f); ZipOutputStream zip = new ZipOutputStream(os)) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            zip.write(new byte[] {(byte) 0x80, 2, '}', '.'});
            zip.closeEntry();
        }
        e = assertThrows(CheckpointException.class, () -> Weights.open(f));
        assertHas(e.getMessage(), "is compressed");
    }

    @Test
    void fixtureBinHasTheSameTensorsAsItsSafetensors() {
        Path dir = Fixtures.dir("xlmr-base");
        try (Weights bin = Weights.open(dir.resolve("pytorch_model.bin"));
                Weights st = Weights.open(dir.resolve("model.safetensors"))) {
            Map<String, Integer> checked = new LinkedHashMap<>();
            for (String name : st.names()) {
                assertTrue(java.util.Arrays.equals(st.get(name).toFloatArray(), bin.get(name).toFloatArray()), name);
                checked.put(name, 1);
            }
            assertEquals(st.names().size(), checked.size());
            assertTrue(bin.contains("embeddings.position_ids"), "the buffer is listed too");
        }
    }
}
