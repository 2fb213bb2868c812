package dev.xlmr.nova;

import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads and writes NOVA annotations: {@code X.annotation} (XML header) + {@code X.annotation~} (data),
 * ASCII or BINARY, for the FREE, DISCRETE and CONTINUOUS schemes.
 *
 * <p>Reading is lenient about what real files contain ({@code ssi-v ="3"}, no XML declaration,
 * windows-1252 data, quoted {@code "a;b"} fields, blank lines, an extra 5th field) and strict wherever
 * data would be lost: a record count other than the header's {@code size}, truncated binary records,
 * unparseable lines all raise a {@link NovaFormatException} naming the file and line or record.
 * Writing goes through temporary files and atomic renames.
 *
 * <pre>{@code
 * FreeAnnotation t = Annotations.readFree(Path.of("session/transcript.annotation"));
 * Annotations.write(t, Path.of("out/transcript.annotation"), FileType.BINARY);
 * }</pre>
 */
public final class Annotations {
    private Annotations() {}

    /** Data files are read whole; the bound keeps a bogus file from exhausting memory. */
    static final long MAX_DATA_BYTES = Integer.MAX_VALUE - 16;
    private static final int FREE_MIN_RECORD = 8 + 8 + 4 + 4;
    private static final int DISCRETE_RECORD = 8 + 8 + 4 + 4;
    private static final int CONTINUOUS_RECORD = 4 + 4;

    /** Reads an annotation of any scheme; {@code header} is {@code X.annotation} (or {@code X.annotation~}). */
    public static Annotation read(Path header) throws IOException {
        header = AtomicFiles.headerPath(header);
        return read(header, AtomicFiles.dataPath(header));
    }

    /**
     * Reads an annotation whose header and data file are given apart, for instance as the real paths a
     * confined reader checked ({@link DataRoot#realFile}).
     */
    public static Annotation read(Path header, Path data) throws IOException {
        Xml root = Xml.parse(header);
        root.version(header, "annotation", 1);
        Xml info = element(root, header, "info");
        Xml scheme = element(root, header, "scheme");
        String ft = info.required(header, "ftype");
        FileType ftype = FileType.parse(ft);
        if (ftype == null) throw NovaFormatException.atLine(header, info.line(), "unknown ftype \"" + ft + "\"");
        long size = info.attr("size") == null ? -1 : info.requiredLong(header, "size");
        if (size < -1) throw NovaFormatException.atLine(header, info.line(), "negative size " + size);
        Xml metaEl = root.child("meta");
        Map<String, String> meta = metaEl == null ? Map.of() : metaEl.attrs();
        String name = scheme.required(header, "name");
        String type = scheme.required(header, "type").trim().toUpperCase(Locale.ROOT);
        Map<String, String> extra = new LinkedHashMap<>(scheme.attrs());
        extra.remove("name");
        extra.remove("type");
        if (ftype == FileType.BINARY && size < 0 && type.equals("FREE")) {
            throw NovaFormatException.atLine(header, info.line(), "a BINARY FREE annotation needs <info size>");
        }
        return switch (type) {
            case "FREE" -> new FreeAnnotation(name, extra, meta, readFree(data, ftype, size));
            case "DISCRETE" -> {
                List<DiscreteAnnotation.Item> items = new ArrayList<>();
                for (Xml it : scheme.all("item")) {
                    items.add(new DiscreteAnnotation.Item(it.required(header, "name"),
                            (int) it.requiredLong(header, "id"), it.attr("color")));
                }
                yield new DiscreteAnnotation(name, extra, meta, items, readDiscrete(data, ftype, size));
            }
            case "CONTINUOUS" -> {
                double sr = scheme.requiredDouble(header, "sr");
                if (!(sr > 0) || Double.isInfinite(sr)) {
                    throw NovaFormatException.atLine(header, scheme.line(), "sr must be positive, is " + sr);
                }
                double min = scheme.requiredDouble(header, "min");
                double max = scheme.requiredDouble(header, "max");
                extra.remove("sr");
                extra.remove("min");
                extra.remove("max");
                yield new ContinuousAnnotation(name, extra, meta, sr, min, max, readContinuous(data, ftype, size));
            }
            default -> throw NovaFormatException.atLine(header, scheme.line(), "unknown scheme type \"" + type + "\"");
        };
    }

    /** Reads a FREE annotation; fails with a clear message for another scheme kind. */
    public static FreeAnnotation readFree(Path header) throws IOException {
        return as(read(header), FreeAnnotation.class, header);
    }

    /** {@link #readFree(Path)} with the data file given apart ({@link #read(Path, Path)}). */
    public static FreeAnnotation readFree(Path header, Path data) throws IOException {
        return as(read(header, data), FreeAnnotation.class, header);
    }

    /** {@code X.annotation -> X.annotation~} (also {@code X.stream -> X.stream~}). */
    public static Path dataPath(Path header) {
        return AtomicFiles.dataPath(AtomicFiles.headerPath(header));
    }

    /** Reads a DISCRETE annotation; fails with a clear message for another scheme kind. */
    public static DiscreteAnnotation readDiscrete(Path header) throws IOException {
        return as(read(header), DiscreteAnnotation.class, header);
    }

    /** Reads a CONTINUOUS annotation; fails with a clear message for another scheme kind. */
    public static ContinuousAnnotation readContinuous(Path header) throws IOException {
        return as(read(header), ContinuousAnnotation.class, header);
    }

    private static <T extends Annotation> T as(Annotation a, Class<T> kind, Path header) throws NovaFormatException {
        if (kind.isInstance(a)) return kind.cast(a);
        throw new NovaFormatException(header, "is a " + a.getClass().getSimpleName() + ", expected " + kind.getSimpleName());
    }

    private static Xml element(Xml root, Path file, String name) throws NovaFormatException {
        Xml e = root.child(name);
        if (e == null) throw NovaFormatException.atLine(file, root.line(), "<" + root.name() + "> lacks <" + name + ">");
        return e;
    }

    // ---------------------------------------------------------------- reading data

    private static byte[] dataBytes(Path data, long size) throws IOException {
        if (size == 0 && !Files.exists(data)) return new byte[0];
        return Texts.readBounded(data, MAX_DATA_BYTES);
    }

    private static void checkCount(Path data, long size, int found) throws NovaFormatException {
        if (size >= 0 && size != found) {
            throw new NovaFormatException(data, "header says size=" + size + " but the data holds " + found + " records");
        }
    }

    /** Binary records of fixed width: the file length must match size exactly. */
    private static ByteBuffer fixed(Path data, byte[] b, long size, int width) throws NovaFormatException {
        if (b.length % width != 0) {
            throw NovaFormatException.atRecord(data, b.length / width + 1,
                    "truncated: " + b.length + " bytes is not a multiple of the " + width + "-byte record");
        }
        checkCount(data, size, b.length / width);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static List<FreeAnnotation.Label> readFree(Path data, FileType ftype, long size) throws IOException {
        byte[] b = dataBytes(data, size);
        if (ftype == FileType.BINARY) {
            // every record needs >= 24 bytes: check before trusting size for an allocation
            if (size > b.length / FREE_MIN_RECORD) {
                throw new NovaFormatException(data, "header says size=" + size + " but " + b.length
                        + " bytes cannot hold that many records (truncated?)");
            }
            ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            List<FreeAnnotation.Label> out = new ArrayList<>((int) size);
            for (int r = 1; r <= size; r++) {
                if (buf.remaining() < 20) throw NovaFormatException.atRecord(data, r, "truncated record");
                double from = buf.getDouble(), to = buf.getDouble();
                long n = Integer.toUnsignedLong(buf.getInt());
                if (n + 4 > buf.remaining()) {
                    throw NovaFormatException.atRecord(data, r, "truncated record (label of " + n + " bytes, "
                            + buf.remaining() + " bytes left)");
                }
                byte[] text = new byte[(int) n];
                buf.get(text);
                out.add(new FreeAnnotation.Label(from, to, Texts.decodeLabel(text), buf.getFloat()));
            }
            if (buf.hasRemaining()) {
                throw new NovaFormatException(data, buf.remaining() + " bytes follow the " + size
                        + " records the header announces");
            }
            return out;
        }
        List<FreeAnnotation.Label> out = new ArrayList<>();
        for (Texts.Row row : Texts.csv(Texts.decode(b), ';')) {
            List<String> f = row.fields();
            if (f.size() < 4) throw bad(data, row, "expected from;to;text;confidence, found " + f.size() + " fields");
            int conf = 3;
            if (f.size() > 5 || (f.size() == 5 && !isNumber(f.get(3)))) {
                // unescaped ';' inside the text: the confidence is the last number, optionally followed by one
                // key=value field such as color=#..
                conf = isNumber(f.getLast()) ? f.size() - 1 : f.size() - 2;
                if (conf < 3 || !isNumber(f.get(conf))) throw bad(data, row, "no numeric confidence field");
            }
            String text = conf == 3 ? f.get(2) : String.join(";", f.subList(2, conf));
            out.add(new FreeAnnotation.Label(time(data, row, f.get(0)), time(data, row, f.get(1)), text,
                    (float) num(data, row, f.get(conf), "confidence")));
        }
        checkCount(data, size, out.size());
        return out;
    }

    private static List<DiscreteAnnotation.Label> readDiscrete(Path data, FileType ftype, long size) throws IOException {
        byte[] b = dataBytes(data, size);
        List<DiscreteAnnotation.Label> out = new ArrayList<>();
        if (ftype == FileType.BINARY) {
            ByteBuffer buf = fixed(data, b, size, DISCRETE_RECORD);
            while (buf.hasRemaining()) {
                out.add(new DiscreteAnnotation.Label(buf.getDouble(), buf.getDouble(), buf.getInt(), buf.getFloat()));
            }
            return out;
        }
        for (Texts.Row row : Texts.csv(Texts.decode(b), ';')) {
            List<String> f = row.fields();
            if (f.size() < 4) throw bad(data, row, "expected from;to;id;confidence, found " + f.size() + " fields");
            double id = num(data, row, f.get(2), "id");
            if (id != Math.rint(id) || Math.abs(id) > Integer.MAX_VALUE) throw bad(data, row, "id is not an integer");
            out.add(new DiscreteAnnotation.Label(time(data, row, f.get(0)), time(data, row, f.get(1)), (int) id,
                    (float) num(data, row, f.get(3), "confidence")));
        }
        checkCount(data, size, out.size());
        return out;
    }

    private static List<ContinuousAnnotation.Frame> readContinuous(Path data, FileType ftype, long size) throws IOException {
        byte[] b = dataBytes(data, size);
        List<ContinuousAnnotation.Frame> out = new ArrayList<>();
        if (ftype == FileType.BINARY) {
            ByteBuffer buf = fixed(data, b, size, CONTINUOUS_RECORD);
            while (buf.hasRemaining()) out.add(new ContinuousAnnotation.Frame(buf.getFloat(), buf.getFloat()));
            return out;
        }
        for (Texts.Row row : Texts.csv(Texts.decode(b), ';')) {
            List<String> f = row.fields();
            if (f.size() < 2) throw bad(data, row, "expected score;confidence, found " + f.size() + " fields");
            out.add(new ContinuousAnnotation.Frame((float) num(data, row, f.get(0), "score"),
                    (float) num(data, row, f.get(1), "confidence")));
        }
        checkCount(data, size, out.size());
        return out;
    }

    private static boolean isNumber(String s) {
        try {
            Texts.parseNumber(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static double num(Path data, Texts.Row row, String s, String what) throws NovaFormatException {
        try {
            return Texts.parseNumber(s);
        } catch (NumberFormatException e) {
            throw bad(data, row, what + " \"" + s + "\" is not a number");
        }
    }

    private static double time(Path data, Texts.Row row, String s) throws NovaFormatException {
        double t = num(data, row, s, "time");
        if (!Double.isFinite(t)) throw bad(data, row, "time \"" + s + "\" is not finite");
        return t;
    }

    private static NovaFormatException bad(Path data, Texts.Row row, String msg) {
        return NovaFormatException.atLine(data, row.line(), msg);
    }

    // ---------------------------------------------------------------- writing

    /**
     * Writes {@code a} as {@code header} + {@code header~} in the given encoding, atomically per file (the
     * data file is renamed into place before the header). Texts are written as UTF-8; a FREE text holding
     * {@code ;}, a line break or a leading quote is CSV-quoted, which discover-utils reads back unchanged.
     */
    public static void write(Annotation a, Path header, FileType ftype) throws IOException {
        header = AtomicFiles.headerPath(header);
        AtomicFiles.writePair(header, out -> writeData(a, ftype, out), () -> headerXml(a, ftype));
    }

    private static byte[] headerXml(Annotation a, FileType ftype) {
        StringBuilder b = new StringBuilder();
        b.append("<?xml version=\"1.0\" ?>\n<annotation ssi-v=\"3\">\n");
        b.append("    <info ftype=\"").append(ftype.name()).append("\" size=\"").append(a.size()).append("\" />\n");
        if (!a.meta().isEmpty()) b.append("    <meta").append(Xml.attrs(a.meta())).append(" />\n");
        Map<String, String> s = new LinkedHashMap<>();
        s.put("name", a.schemeName());
        switch (a) {
            case FreeAnnotation f -> s.put("type", "FREE");
            case DiscreteAnnotation d -> s.put("type", "DISCRETE");
            case ContinuousAnnotation c -> {
                s.put("type", "CONTINUOUS");
                s.put("sr", Texts.format(c.sampleRate()));
                s.put("min", Texts.format(c.min()));
                s.put("max", Texts.format(c.max()));
            }
        }
        a.schemeAttributes().forEach(s::putIfAbsent);
        b.append("    <scheme").append(Xml.attrs(s));
        if (a instanceof DiscreteAnnotation d && !d.items().isEmpty()) {
            b.append(">\n");
            for (DiscreteAnnotation.Item it : d.items()) {
                Map<String, String> ia = new LinkedHashMap<>();
                ia.put("name", it.name());
                ia.put("id", Integer.toString(it.id()));
                if (it.color() != null) ia.put("color", it.color());
                b.append("        <item").append(Xml.attrs(ia)).append(" />\n");
            }
            b.append("    </scheme>\n");
        } else {
            b.append(" />\n");
        }
        b.append("</annotation>\n");
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void writeData(Annotation a, FileType ftype, OutputStream os) throws IOException {
        if (ftype == FileType.BINARY) {
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            switch (a) {
                case FreeAnnotation f -> {
                    for (FreeAnnotation.Label l : f.labels()) {
                        byte[] t = l.text().getBytes(StandardCharsets.UTF_8);
                        buf = ensure(buf, os, 24 + t.length);
                        buf.putDouble(l.from()).putDouble(l.to()).putInt(t.length).put(t).putFloat(l.confidence());
                    }
                }
                case DiscreteAnnotation d -> {
                    for (DiscreteAnnotation.Label l : d.labels()) {
                        buf = ensure(buf, os, 24);
                        buf.putDouble(l.from()).putDouble(l.to()).putInt(l.id()).putFloat(l.confidence());
                    }
                }
                case ContinuousAnnotation c -> {
                    for (ContinuousAnnotation.Frame fr : c.frames()) {
                        buf = ensure(buf, os, 8);
                        buf.putFloat(fr.score()).putFloat(fr.confidence());
                    }
                }
            }
            os.write(buf.array(), 0, buf.position());
            return;
        }
        Writer w = new OutputStreamWriter(os, StandardCharsets.UTF_8);
        switch (a) {
            case FreeAnnotation f -> {
                for (FreeAnnotation.Label l : f.labels()) {
                    w.write(Texts.format(l.from()) + ";" + Texts.format(l.to()) + ";" + csvField(l.text()) + ";"
                            + Texts.format(l.confidence()) + "\n");
                }
            }
            case DiscreteAnnotation d -> {
                for (DiscreteAnnotation.Label l : d.labels()) {
                    w.write(Texts.format(l.from()) + ";" + Texts.format(l.to()) + ";" + l.id() + ";"
                            + Texts.format(l.confidence()) + "\n");
                }
            }
            case ContinuousAnnotation c -> {
                for (ContinuousAnnotation.Frame fr : c.frames()) {
                    w.write(Texts.format(fr.score()) + ";" + Texts.format(fr.confidence()) + "\n");
                }
            }
        }
        w.flush();
    }

    /** Flushes the buffer when {@code need} bytes do not fit; grows it for a single huge record. */
    private static ByteBuffer ensure(ByteBuffer buf, OutputStream os, int need) throws IOException {
        if (buf.remaining() >= need) return buf;
        os.write(buf.array(), 0, buf.position());
        buf.clear();
        return need <= buf.capacity() ? buf : ByteBuffer.allocate(need).order(ByteOrder.LITTLE_ENDIAN);
    }

    static String csvField(String text) {
        boolean quote = text.indexOf(';') >= 0 || text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0
                || text.startsWith("\"");
        return quote ? "\"" + text.replace("\"", "\"\"") + "\"" : text;
    }
}
