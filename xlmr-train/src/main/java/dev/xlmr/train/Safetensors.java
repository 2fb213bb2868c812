package dev.xlmr.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * Writes F32 safetensors files (xlmr-model reads them; this is the writing half). The file is
 * written beside its target and moved into place, so a reader never sees half a file.
 *
 * <pre>{@code
 * Safetensors.writeF32(Path.of("out/final.safetensors"), Map.of("w", new Safetensors.Entry(new int[] {2}, new double[] {1, 2})));
 * }</pre>
 */
public final class Safetensors {
    private Safetensors() {}

    /**
     * One tensor: its shape and values, float64 ({@code values}) or fp32 ({@code floats}), the other null.
     * Written as the file's dtype (rounded to fp32 for F32 files).
     */
    public record Entry(int[] shape, double[] values, float[] floats) {
        public Entry(int[] shape, double[] values) {
            this(shape, values, null);
        }

        /** An fp32 tensor (not copied). */
        public static Entry ofFloats(int[] shape, float[] floats) {
            return new Entry(shape, null, floats);
        }

        public int size() {
            return values != null ? values.length : floats.length;
        }

        /** The values as float64 (a copy when fp32). */
        public double[] asDoubles() {
            if (values != null) {
                return values;
            }
            double[] d = new double[floats.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = floats[i];
            }
            return d;
        }

        /** The values as fp32 (a rounded copy when float64). */
        public float[] asFloats() {
            if (floats != null) {
                return floats;
            }
            float[] f = new float[values.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) values[i];
            }
            return f;
        }
    }

    public static void writeF32(Path file, Map<String, Entry> tensors) throws IOException {
        write(file, tensors, false);
    }

    /** As {@link #writeF32} but F64 (exact float64 master weights and optimizer moments, for resuming). */
    public static void writeF64(Path file, Map<String, Entry> tensors) throws IOException {
        write(file, tensors, true);
    }

    private static void write(Path file, Map<String, Entry> tensors, boolean f64) throws IOException {
        int width = f64 ? 8 : 4;
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", f64 ? "F64" : "F32");
            var shape = t.putArray("shape");
            for (int d : e.getValue().shape()) {
                shape.add(d);
            }
            long bytes = (long) width * e.getValue().size();
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] h = json.writeValueAsBytes(header);
        int padded = (h.length + 7) / 8 * 8; // the format pads the header with spaces to 8 bytes
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        try {
            try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
                out.write(len.array());
                out.write(h);
                out.write(" ".repeat(padded - h.length).getBytes(StandardCharsets.US_ASCII));
                ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
                for (Entry e : tensors.values()) {
                    int n = e.size();
                    for (int i = 0; i < n; i++) {
                        if (buf.remaining() < 8) {
                            out.write(buf.array(), 0, buf.position());
                            buf.clear();
                        }
                        double v = e.values() != null ? e.values()[i] : e.floats()[i];
                        if (f64) {
                            buf.putDouble(v);
                        } else {
                            buf.putFloat((float) v);
                        }
                    }
                }
                out.write(buf.array(), 0, buf.position());
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Reads an F32 or F64 file written by {@link #writeF32} or {@link #writeF64} (names in file order),
     * each tensor mapped from the file on its own (files may exceed 2 GB): F32 tensors as
     * {@link Entry#floats}, F64 as {@link Entry#values}.
     *
     * @throws IOException when the file cannot be read or is not such a file
     */
    public static Map<String, Entry> read(Path file) throws IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
            ByteBuffer lb = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(lb, 0);
            long n = ch.size() >= 8 ? lb.getLong(0) : -1;
            if (n < 2 || n > Math.min(ch.size() - 8, 1 << 28)) {
                throw new IOException(file + ": not a safetensors file");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            ch.read(hb, 8);
            var header = new ObjectMapper().readTree(new String(hb.array(), StandardCharsets.UTF_8));
            Map<String, Entry> out = new java.util.LinkedHashMap<>();
            var it = header.properties().iterator();
            while (it.hasNext()) {
                var e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                var t = e.getValue();
                String dtype = t.path("dtype").asText();
                if (!dtype.equals("F64") && !dtype.equals("F32")) {
                    throw new IOException(file + ": " + e.getKey() + " is " + dtype + ", not F32 or F64");
                }
                int[] shape = new int[t.path("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = t.path("shape").get(i).asInt();
                }
                long start = t.path("data_offsets").get(0).asLong();
                long end = t.path("data_offsets").get(1).asLong();
                if (start < 0 || end < start || 8 + n + end > ch.size()) {
                    throw new IOException(file + ": " + e.getKey() + " lies outside the file");
                }
                var m = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 8 + n + start, end - start)
                        .order(ByteOrder.LITTLE_ENDIAN);
                if (dtype.equals("F32")) {
                    float[] f = new float[(int) ((end - start) / 4)];
                    m.asFloatBuffer().get(f);
                    out.put(e.getKey(), Entry.ofFloats(shape, f));
                } else {
                    double[] d = new double[(int) ((end - start) / 8)];
                    m.asDoubleBuffer().get(d);
                    out.put(e.getKey(), new Entry(shape, d));
                }
            }
            return out;
        }
    }

    /**
     * Reads an F64 file written by {@link #writeF64} (names in file order).
     *
     * @throws IOException when the file cannot be read or is not such a file
     */
    public static Map<String, Entry> readF64(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        long n = all.length >= 8 ? b.getLong() : -1;
        if (n < 2 || n > all.length - 8) {
            throw new IOException(file + ": not a safetensors file");
        }
        var header = new ObjectMapper().readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
        Map<String, Entry> out = new java.util.LinkedHashMap<>();
        var it = header.properties().iterator();
        while (it.hasNext()) {
            var e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            var t = e.getValue();
            if (!t.path("dtype").asText().equals("F64")) {
                throw new IOException(file + ": " + e.getKey() + " is " + t.path("dtype").asText() + ", not F64");
            }
            int[] shape = new int[t.path("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.path("shape").get(i).asInt();
            }
            long start = t.path("data_offsets").get(0).asLong();
            long end = t.path("data_offsets").get(1).asLong();
            double[] v = new double[(int) ((end - start) / 8)];
            ByteBuffer d = ByteBuffer.wrap(all, (int) (8 + n + start), (int) (end - start)).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < v.length; i++) {
                v[i] = d.getDouble();
            }
            out.put(e.getKey(), new Entry(shape, v));
        }
        return out;
    }
}
