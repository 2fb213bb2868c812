package dev.xlmr.nova;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SsiStreamTest {
    @TempDir
    Path dir;

    private static float[] ramp(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (i % 7 == 0 ? -1 : 1) * i / 3.0f;
        return v;
    }

    @Test
    void writesWhatDiscoverUtilsWrites() throws IOException {
        SsiStream s = SsiStream.ofFloats(25.0, 768, ramp(87 * 768));
        Path h = dir.resolve("embeddings.stream");
        s.write(h, FileType.BINARY);
        assertEquals(Fixtures.text("embeddings-87x768.stream"), Files.readString(h));
        byte[] data = Files.readAllBytes(dir.resolve("embeddings.stream~"));
        assertEquals(87 * 768 * 4, data.length);
        assertEquals(ramp(2)[1], ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).getFloat(4));
    }

    @ParameterizedTest
    @EnumSource(FileType.class)
    void floatStreamsRoundTrip(FileType ftype) throws IOException {
        float[] v = ramp(5 * 3);
        v[4] = Float.MIN_VALUE;
        v[5] = -Float.MAX_VALUE;
        v[6] = 1e-10f;
        SsiStream s = SsiStream.ofFloats(2.0, 3, v).withMeta(Map.of("type", "", "name", "feat"));
        Path h = dir.resolve("f.stream");
        s.write(h, ftype);
        SsiStream back = SsiStream.read(h);
        assertArrayEquals(v, back.toFloats());
        assertEquals(3, back.dim());
        assertEquals(5, back.numSamples());
        assertEquals(2.0, back.sampleRate());
        assertEquals(SampleType.FLOAT, back.type());
        assertEquals(Map.of("type", "", "name", "feat"), back.meta());
        assertEquals(-Float.MAX_VALUE, back.value(1, 2));
    }

    @ParameterizedTest
    @EnumSource(FileType.class)
    void integerAndDoubleTypesRoundTrip(FileType ftype) throws IOException {
        record Case(SampleType type, int width, double[] values) {}
        List<Case> cases = List.of(
                new Case(SampleType.SHORT, 2, new double[] {-32768, 0, 32767, 5}),
                new Case(SampleType.USHORT, 2, new double[] {0, 65535, 1, 2}),
                new Case(SampleType.UCHAR, 1, new double[] {0, 255, 7, 8}),
                new Case(SampleType.CHAR, 1, new double[] {-128, 127, 0, 1}),
                new Case(SampleType.INT, 4, new double[] {Integer.MIN_VALUE, Integer.MAX_VALUE, 0, -1}),
                new Case(SampleType.UINT, 4, new double[] {4294967295.0, 0, 1, 2}),
                new Case(SampleType.LONG, 8, new double[] {-(1L << 40), 1L << 40, 0, 3}),
                new Case(SampleType.LONG, 4, new double[] {-5, 5, 0, 3}),
                new Case(SampleType.BOOL, 1, new double[] {0, 1, 1, 0}),
                new Case(SampleType.DOUBLE, 8, new double[] {Math.PI, -1e300, 0.1, 4}));
        for (Case c : cases) {
            ByteBuffer b = ByteBuffer.allocate(c.values.length * c.width).order(ByteOrder.LITTLE_ENDIAN);
            for (double d : c.values) {
                switch (c.width) {
                    case 1 -> b.put((byte) (long) d);
                    case 2 -> b.putShort((short) (long) d);
                    case 4 -> b.putInt((int) (long) d);
                    default -> {
                        if (c.type == SampleType.DOUBLE) b.putDouble(d); else b.putLong((long) d);
                    }
                }
            }
            SsiStream s = SsiStream.of(100, 2, c.type, c.width, b.array());
            Path h = dir.resolve(c.type + "" + c.width + ".stream");
            s.write(h, ftype);
            SsiStream back = SsiStream.read(h);
            assertEquals(c.type, back.type());
            assertEquals(c.width, back.byteWidth());
            for (int i = 0; i < c.values.length; i++) assertEquals(c.values[i], back.value(i / 2, i % 2), c.type + " " + i);
            assertEquals(s.data(), back.data());
        }
    }

    @Test
    void readsChunksAtTheirOffsetsAndTheSpacedVersionQuirk() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 * 5).order(ByteOrder.LITTLE_ENDIAN);
        b.putFloat(1).putFloat(2).putFloat(99).putFloat(3).putFloat(4); // 99 lies between the chunks: no sample
        Files.write(dir.resolve("c.stream~"), b.array());
        Files.writeString(dir.resolve("c.stream"), """
                <?xml version="1.0" ?>
                <stream ssi-v ="2">
                  <info ftype="BINARY" sr="10" dim="1" byte="4" type="FLOAT" />
                  <chunk from="0.0" to="0.2" byte="0" num="2"/>
                  <chunk from="5.0" to="5.2" byte="12" num="2"/>
                </stream>""");
        SsiStream s = SsiStream.read(dir.resolve("c.stream"));
        assertArrayEquals(new float[] {1, 2, 3, 4}, s.toFloats());
        assertEquals(List.of(new SsiStream.Chunk(0, 0.2, 0, 2), new SsiStream.Chunk(5, 5.2, 12, 2)), s.chunks());
        assertEquals(" ", s.delim());
        s.write(dir.resolve("c2.stream"), FileType.BINARY);
        String h = Files.readString(dir.resolve("c2.stream"));
        assertTrue(h.contains("<chunk from=\"5.000\" to=\"5.200\" byte=\"8\" num=\"2\" />"), h);
        assertArrayEquals(new float[] {1, 2, 3, 4}, SsiStream.read(dir.resolve("c2.stream")).toFloats());
    }

    private Path header(String name, String ftype, int dim, String type, int width, long num) throws IOException {
        Path h = dir.resolve(name + ".stream");
        Files.writeString(h, "<stream ssi-v=\"2\"><info ftype=\"" + ftype + "\" sr=\"25.0\" dim=\"" + dim + "\" byte=\"" + width
                + "\" type=\"" + type + "\" delim=\" \"/><chunk from=\"0\" to=\"1\" byte=\"0\" num=\"" + num + "\"/></stream>");
        return h;
    }

    @Test
    void truncatedAndOverlongBinaryDataAreErrors() throws IOException {
        Path h = header("t", "BINARY", 2, "FLOAT", 4, 3);
        Files.write(dir.resolve("t.stream~"), new byte[2 * 4 * 2 + 5]);
        NovaFormatException e = assertThrows(NovaFormatException.class, () -> SsiStream.read(h));
        assertEquals(3, e.record());
        assertTrue(e.getMessage().contains("t.stream~"), e.getMessage());
        Files.write(dir.resolve("t.stream~"), new byte[2 * 4 * 3 + 4]);
        assertTrue(assertThrows(NovaFormatException.class, () -> SsiStream.read(h)).getMessage().contains("not described"));
        // an absurd num is refused from the header alone, before any allocation
        Path huge = header("huge", "BINARY", 768, "FLOAT", 4, 1L << 40);
        Files.write(dir.resolve("huge.stream~"), new byte[16]);
        assertThrows(NovaFormatException.class, () -> SsiStream.read(huge));
        Path big = header("big", "BINARY", 768, "FLOAT", 4, 100_000);
        Files.write(dir.resolve("big.stream~"), new byte[16]);
        assertEquals(1, assertThrows(NovaFormatException.class, () -> SsiStream.read(big)).record());
    }

    @Test
    void asciiErrorsNameTheLine() throws IOException {
        Path h = header("a", "ASCII", 3, "FLOAT", 4, 3);
        Files.writeString(dir.resolve("a.stream~"), "1 2 3\n4 5 \n7 8 9\n");
        NovaFormatException e = assertThrows(NovaFormatException.class, () -> SsiStream.read(h));
        assertEquals(2, e.line());
        Files.writeString(dir.resolve("a.stream~"), "1 2 3\n4 5 x\n7 8 9\n");
        assertEquals(2, assertThrows(NovaFormatException.class, () -> SsiStream.read(h)).line());
        Files.writeString(dir.resolve("a.stream~"), "1 2 3\n4 5 6\n      \n");
        assertTrue(assertThrows(NovaFormatException.class, () -> SsiStream.read(h)).getMessage().contains("holds 2"));
        Files.writeString(dir.resolve("a.stream~"), "1 2 3\r\n4  5 6 \r\n\r\n7 8 9");
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, SsiStream.read(h).toFloats());
        Path s = header("s", "ASCII", 1, "SHORT", 2, 1);
        Files.writeString(dir.resolve("s.stream~"), "40000\n");
        assertEquals(1, assertThrows(NovaFormatException.class, () -> SsiStream.read(s)).line());
        Path huge = header("ah", "ASCII", 10, "FLOAT", 4, 1_000_000);
        Files.writeString(dir.resolve("ah.stream~"), "1 2 3 4 5 6 7 8 9 10\n");
        assertThrows(NovaFormatException.class, () -> SsiStream.read(huge));
    }

    @Test
    void rejectsOldVersionsAndInconsistentHeaders() throws IOException {
        Path h = dir.resolve("v1.stream");
        Files.writeString(h, "<stream ssi-v=\"1\"><info ftype=\"BINARY\" sr=\"1\" dim=\"1\" byte=\"4\" type=\"FLOAT\"/></stream>");
        assertTrue(assertThrows(NovaFormatException.class, () -> SsiStream.read(h)).getMessage().contains("ssi-v=1"));
        Path w = header("w", "BINARY", 1, "FLOAT", 8, 0);
        assertThrows(NovaFormatException.class, () -> SsiStream.read(w));
        Path t = header("u", "BINARY", 1, "QUATERNION", 4, 0);
        assertThrows(NovaFormatException.class, () -> SsiStream.read(t));
    }

    @Test
    void emptyStreamNeedsNoDataFile() throws IOException {
        SsiStream s = SsiStream.read(header("e", "BINARY", 4, "FLOAT", 4, 0));
        assertEquals(0, s.numSamples());
        assertEquals(0, s.toFloats().length);
    }

    @Test
    void structStreamsAreOpaqueBytes() throws IOException {
        byte[] raw = new byte[12];
        Arrays.fill(raw, (byte) 7);
        SsiStream s = SsiStream.of(1, 1, SampleType.STRUCT, 6, raw);
        Path h = dir.resolve("st.stream");
        s.write(h, FileType.BINARY);
        assertEquals(2, SsiStream.read(h).numSamples());
        assertThrows(IllegalArgumentException.class, () -> s.write(dir.resolve("st2.stream"), FileType.ASCII));
    }
}
