package dev.xlmr.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Writes small safetensors files for tests, in F32, F16 or BF16. */
final class SafetensorsWriter {
    private SafetensorsWriter() {}

    record Entry(int[] shape, float[] values) {}

    static void write(Path file, Map<String, Entry> tensors, String dtype) {
        ObjectMapper om = new ObjectMapper();
        ObjectNode header = om.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            float[] v = e.getValue().values();
            int size = dtype.equals("F32") ? 4 : 2;
            ByteBuffer buf = ByteBuffer.allocate(v.length * size).order(ByteOrder.LITTLE_ENDIAN);
            for (float x : v) {
                switch (dtype) {
                    case "F32" -> buf.putFloat(x);
                    case "F16" -> buf.putShort(Float.floatToFloat16(x));
                    case "BF16" -> buf.putShort((short) (Float.floatToRawIntBits(x) >>> 16)); // truncation
                    default -> throw new IllegalArgumentException(dtype);
                }
            }
            ObjectNode info = header.putObject(e.getKey());
            info.put("dtype", dtype);
            var shape = info.putArray("shape");
            for (int d : e.getValue().shape()) {
                shape.add(d);
            }
            info.putArray("data_offsets").add(data.size()).add(data.size() + buf.capacity());
            data.writeBytes(buf.array());
        }
        writeRaw(file, header.toString(), data.toByteArray());
    }

    /** Writes a header string and data as they are, for crafting broken files. */
    static void writeRaw(Path file, String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h).put(data);
        try {
            Files.write(file, buf.array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What F16 or BF16 storage makes of a value, as the reader converts it back. */
    static float rounded(float x, String dtype) {
        return switch (dtype) {
            case "F16" -> Float.float16ToFloat(Float.floatToFloat16(x));
            case "BF16" -> Float.intBitsToFloat(Float.floatToRawIntBits(x) & 0xFFFF0000);
            default -> x;
        };
    }
}
