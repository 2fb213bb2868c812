package dev.xlmr.nova;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class AnnotationsTest {
    @TempDir
    Path dir;

    private Path write(String name, String header, byte[] data) throws IOException {
        Path h = dir.resolve(name + ".annotation");
        Files.writeString(h, header);
        Files.write(dir.resolve(name + ".annotation~"), data);
        return h;
    }

    private static String freeHeader(String ftype, int size) {
        return "<annotation ssi-v =\"3\">\n<info ftype=\"" + ftype + "\" size=\"" + size + "\" />\n"
                + "<scheme name=\"transcript\" type=\"FREE\" />\n</annotation>\n";
    }

    @Test
    void readsTheSpecExample() throws IOException {
        FreeAnnotation t = Fixtures.transcript(dir);
        assertEquals("transcript", t.schemeName());
        assertEquals(Map.of("color", "#FFFFFFFF"), t.schemeAttributes());
        assertEquals(List.of("role", "annotator"), List.copyOf(t.meta().keySet()));
        assertEquals(List.of(new FreeAnnotation.Label(0.5, 1.25, "hello world", 1f),
                new FreeAnnotation.Label(1.3, 2.0, "how are you", 0.9f),
                new FreeAnnotation.Label(3.0, 3.5, "bye", 1f)), t.labels());
        assertEquals(3500, t.durationMs());
    }

    @Test
    void writesTheSpecHeaderByteForByte() throws IOException {
        FreeAnnotation t = Fixtures.transcript(dir);
        Path out = dir.resolve("out/t.annotation");
        Files.createDirectories(out.getParent());
        Annotations.write(t, out, FileType.ASCII);
        assertEquals(Fixtures.text("transcript.annotation"), Files.readString(out));
        assertEquals("0.5;1.25;hello world;1.0\n1.3;2.0;how are you;0.9\n3.0;3.5;bye;1.0\n",
                Files.readString(dir.resolve("out/t.annotation~")));
        try (Stream<Path> s = Files.list(out.getParent())) {
            assertEquals(2, s.count(), "no temporary files are left behind");
        }
    }

    @Test
    void durationIsTheLastRowAndTruncatesToMilliseconds() {
        FreeAnnotation t = FreeAnnotation.of("t", List.of(new FreeAnnotation.Label(0, 5, "a", 1),
                new FreeAnnotation.Label(1, 2.01, "b", 1)));
        assertEquals(2009, t.durationMs());
    }

    @Test
    void acceptsHeaderQuirksAndWindows1252Data() throws IOException {
        byte[] data = "0.0;1.0;Gr\u00fc\u00dfe \u20ac;1\n".getBytes(Texts.CP1252);
        FreeAnnotation t = Annotations.readFree(write("cp", freeHeader("ASCII", 1), data));
        assertEquals("Gr\u00fc\u00dfe \u20ac", t.labels().getFirst().text());
        assertTrue(t.meta().isEmpty());
    }

    @Test
    void acceptsAWindows1252Header() throws IOException {
        String header = "<annotation ssi-v=\"3\"><info ftype=\"ASCII\" size=\"0\"/>"
                + "<meta annotator=\"J\u00fcrgen\"/><scheme name=\"t\" type=\"FREE\"/></annotation>";
        Path h = dir.resolve("h.annotation");
        Files.write(h, header.getBytes(Texts.CP1252));
        assertEquals("J\u00fcrgen", Annotations.read(h).meta().get("annotator"));
    }

    @Test
    void readsCsvQuotingCrlfBlankLinesAndAFifthField() throws IOException {
        String data = "0;1;\"a;b\";1\r\n\r\n1;2;\"say \"\"hi\"\"\";0.5;color=#FF00FF00\r\n"
                + "2;3;\"two\nlines\";1\n3;4;x;y;z;0.25\n4;5;not \"quoted\";1\n";
        FreeAnnotation t = Annotations.readFree(write("q", freeHeader("ASCII", 5), data.getBytes(StandardCharsets.UTF_8)));
        assertEquals(List.of("a;b", "say \"hi\"", "two\nlines", "x;y;z", "not \"quoted\""),
                t.labels().stream().map(FreeAnnotation.Label::text).toList());
        assertEquals(0.5f, t.labels().get(1).confidence());
        assertEquals(0.25f, t.labels().get(3).confidence());
    }

    @Test
    void sizeMismatchIsAnError() throws IOException {
        Path h = write("n", freeHeader("ASCII", 4), "0;1;a;1\n1;2;b;1\n".getBytes(StandardCharsets.UTF_8));
        NovaFormatException e = assertThrows(NovaFormatException.class, () -> Annotations.read(h));
        assertTrue(e.getMessage().contains("n.annotation~") && e.getMessage().contains("size=4"), e.getMessage());
    }

    @Test
    void malformedLinesNameTheirLine() throws IOException {
        Path h = write("m", freeHeader("ASCII", 3), "0;1;a;1\n\n1;2;b\n2;3;c;1\n".getBytes(StandardCharsets.UTF_8));
        NovaFormatException e = assertThrows(NovaFormatException.class, () -> Annotations.read(h));
        assertEquals(3, e.line());
        assertTrue(e.getMessage().startsWith(dir.resolve("m.annotation~") + ": line 3:"), e.getMessage());

        Path h2 = write("m2", freeHeader("ASCII", 1), "0;one;a;1\n".getBytes(StandardCharsets.UTF_8));
        assertEquals(1, assertThrows(NovaFormatException.class, () -> Annotations.read(h2)).line());

        // a quote that never closes is a literal character of its line, not the start of a multi-line field
        Path h3 = write("m3", freeHeader("ASCII", 2), "0;1;\"open;1\n1;2;b;1".getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of("\"open", "b"), Annotations.readFree(h3).labels().stream().map(FreeAnnotation.Label::text).toList());
    }

    @Test
    void binaryFreeLayoutIsPackedLittleEndian() throws IOException {
        FreeAnnotation t = FreeAnnotation.of("t", List.of(new FreeAnnotation.Label(0.5, 1.25, "h\u00e9", 0.75f)));
        Path h = dir.resolve("b.annotation");
        Annotations.write(t, h, FileType.BINARY);
        ByteBuffer exp = ByteBuffer.allocate(8 + 8 + 4 + 3 + 4).order(ByteOrder.LITTLE_ENDIAN);
        exp.putDouble(0.5).putDouble(1.25).putInt(3).put("h\u00e9".getBytes(StandardCharsets.UTF_8)).putFloat(0.75f);
        assertArrayEquals(exp.array(), Files.readAllBytes(dir.resolve("b.annotation~")));
        assertTrue(Files.readString(h).contains("<info ftype=\"BINARY\" size=\"1\" />"));
    }

    @Test
    void truncatedBinaryIsAnErrorWithTheRecordNumber() throws IOException {
        FreeAnnotation t = FreeAnnotation.of("t", List.of(new FreeAnnotation.Label(0, 1, "abc", 1),
                new FreeAnnotation.Label(1, 2, "defgh", 1)));
        Path h = dir.resolve("tr.annotation");
        Annotations.write(t, h, FileType.BINARY);
        Path d = dir.resolve("tr.annotation~");
        byte[] full = Files.readAllBytes(d);
        Files.write(d, java.util.Arrays.copyOf(full, full.length - 3));
        NovaFormatException e = assertThrows(NovaFormatException.class, () -> Annotations.read(h));
        assertEquals(2, e.record());

        Files.write(d, java.util.Arrays.copyOf(full, full.length + 2)); // trailing bytes
        assertTrue(assertThrows(NovaFormatException.class, () -> Annotations.read(h)).getMessage().contains("2 bytes follow"));

        // a huge size must be refused before anything is allocated for it
        Path huge = write("huge", freeHeader("BINARY", Integer.MAX_VALUE), full);
        assertTrue(assertThrows(NovaFormatException.class, () -> Annotations.read(huge)).getMessage().contains("cannot hold"));

        Path noSize = write("ns", "<annotation ssi-v=\"3\"><info ftype=\"BINARY\"/><scheme name=\"t\" type=\"FREE\"/></annotation>", full);
        assertThrows(NovaFormatException.class, () -> Annotations.read(noSize));
    }

    @Test
    void fixedWidthBinaryMustMatchSize() throws IOException {
        String header = "<annotation ssi-v=\"3\"><info ftype=\"BINARY\" size=\"2\"/>"
                + "<scheme name=\"a\" type=\"CONTINUOUS\" sr=\"25\" min=\"0\" max=\"1\"/></annotation>";
        Path h = write("c", header, new byte[8 * 3]);
        assertTrue(assertThrows(NovaFormatException.class, () -> Annotations.read(h)).getMessage().contains("size=2"));
        Path h2 = write("c2", header, new byte[8 * 2 - 1]);
        assertEquals(2, assertThrows(NovaFormatException.class, () -> Annotations.read(h2)).record());
    }

    @Test
    void wrongKindAndBadHeadersAreErrors() throws IOException {
        Path h = write("x", "<annotation ssi-v=\"3\"><info ftype=\"ASCII\" size=\"0\"/>"
                + "<scheme name=\"e\" type=\"DISCRETE\"/></annotation>", new byte[0]);
        assertTrue(assertThrows(NovaFormatException.class, () -> Annotations.readFree(h)).getMessage().contains("DiscreteAnnotation"));
        Path bad = write("y", "<annotation ssi-v=\"3\"><info ftype=\"ASCII\"", new byte[0]);
        assertThrows(NovaFormatException.class, () -> Annotations.read(bad));
        Path dtd = write("z", "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><annotation ssi-v=\"3\">&x;</annotation>",
                new byte[0]);
        assertThrows(NovaFormatException.class, () -> Annotations.read(dtd));
    }

    static List<Annotation> samples() {
        Map<String, String> meta = Map.of("role", "speaker");
        return List.of(
                new FreeAnnotation("transcript", Map.of("color", "#FFFFFFFF"), meta, List.of(
                        new FreeAnnotation.Label(0.5, 1.25, "hello world", 1f),
                        new FreeAnnotation.Label(1.3, 2.0, "a;b \"quoted\"", 0.9f),
                        new FreeAnnotation.Label(2.0, 2.5, "\"lead", 0.1f),
                        new FreeAnnotation.Label(2.5, 3.0, "", 0f),
                        new FreeAnnotation.Label(3.0, 3.5, "zwei\nZeilen \u00fc \u4e2d \ud83d\ude00", 1f),
                        new FreeAnnotation.Label(1e-4, 123456.789, "  spaced  ", 0.33333334f))),
                new DiscreteAnnotation("emotion", Map.of("color", "#FF000000"), meta,
                        List.of(new DiscreteAnnotation.Item("happy", 0, "#FFFF0000"), new DiscreteAnnotation.Item("sad & <blue>", 1, null)),
                        List.of(new DiscreteAnnotation.Label(0.1, 0.2, 0, 1f), new DiscreteAnnotation.Label(0.3, 0.45, -1, 0.5f))),
                new ContinuousAnnotation("arousal", Map.of("mincolor", "#FFFFFFFF"), Map.of(), 25.0, -1, 1,
                        List.of(new ContinuousAnnotation.Frame(0.25f, 1f), new ContinuousAnnotation.Frame(-0.7f, 0.3f),
                                new ContinuousAnnotation.Frame(Float.NaN, 0f))));
    }

    @ParameterizedTest
    @EnumSource(FileType.class)
    void everyKindRoundTrips(FileType ftype) throws IOException {
        for (Annotation a : samples()) {
            Path h = dir.resolve(a.schemeName() + "-" + ftype + ".annotation");
            Annotations.write(a, h, ftype);
            Annotation back = Annotations.read(h);
            assertInstanceOf(a.getClass(), back);
            assertEquals(a, back, a.schemeName() + " " + ftype);
            Annotations.write(back, h, ftype); // overwrite in place
            assertEquals(a, Annotations.read(dir.resolve(h.getFileName() + "~")));
        }
    }
}
