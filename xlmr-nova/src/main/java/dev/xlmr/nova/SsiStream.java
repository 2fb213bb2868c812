package dev.xlmr.nova;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * An SSI stream: {@code X.stream} (XML header) + {@code X.stream~} (data), {@code numSamples x dim} values
 * of one {@link SampleType}, held in memory as packed little-endian bytes (sample-major).
 *
 * <p>Reading accepts BINARY and ASCII data, any number of chunks and the discover-utils quirks; it
 * rejects ssi-v &lt; 2, chunks that run past the end of the data, data not covered by chunks, and ASCII
 * lines with the wrong number of values. Writing produces exactly what discover-utils writes (header
 * below) through temporary files and atomic renames.
 *
 * <pre>{@code
 * SsiStream s = SsiStream.ofFloats(25.0, 768, values);      // values.length = n * 768
 * s.write(Path.of("out/embeddings.stream"), FileType.BINARY);
 * // <stream ssi-v ="2">
 * //     <info ftype="BINARY" sr="25.000" dim="768" byte="4" type="FLOAT" delim=" " />
 * //     <meta type="" />
 * //     <chunk from="0.000" to="3.480" byte="0" num="87" />
 * // </stream>
 * float[] back = SsiStream.read(Path.of("out/embeddings.stream")).toFloats();
 * }</pre>
 */
public final class SsiStream {

    /**
     * A contiguous run of samples.
     *
     * @param from       start time in seconds
     * @param to         end time in seconds
     * @param byteOffset offset of its first sample in the data file (recomputed on writing)
     * @param num        number of samples
     */
    public record Chunk(double from, double to, long byteOffset, long num) {}

    private static final long MAX_BYTES = Annotations.MAX_DATA_BYTES;

    private final double sampleRate;
    private final int dim;
    private final SampleType type;
    private final int byteWidth;
    private final byte[] data;
    private final long numSamples;
    private final List<Chunk> chunks;
    private final Map<String, String> meta;
    private final String delim;

    private SsiStream(double sampleRate, int dim, SampleType type, int byteWidth, byte[] data, List<Chunk> chunks,
                      Map<String, String> meta, String delim) {
        if (!(sampleRate > 0) || Double.isInfinite(sampleRate)) throw new IllegalArgumentException("sample rate " + sampleRate);
        if (dim < 1) throw new IllegalArgumentException("dim " + dim);
        if (byteWidth < 1) throw new IllegalArgumentException("byte width " + byteWidth);
        if (type.fixedWidth() != 0 && type.fixedWidth() != byteWidth) {
            throw new IllegalArgumentException(type + " values are " + type.fixedWidth() + " bytes, not " + byteWidth);
        }
        long sampleBytes = (long) dim * byteWidth;
        if (data.length % sampleBytes != 0) {
            throw new IllegalArgumentException(data.length + " bytes are not a whole number of " + sampleBytes + "-byte samples");
        }
        this.sampleRate = sampleRate;
        this.dim = dim;
        this.type = type;
        this.byteWidth = byteWidth;
        this.data = data;
        this.numSamples = data.length / sampleBytes;
        if (chunks == null) {
            chunks = List.of(new Chunk(0, numSamples / sampleRate, 0, numSamples));
        } else if (chunks.stream().mapToLong(Chunk::num).sum() != numSamples) {
            throw new IllegalArgumentException("chunks hold " + chunks.stream().mapToLong(Chunk::num).sum()
                    + " samples, data " + numSamples);
        }
        this.chunks = List.copyOf(chunks);
        this.meta = Collections.unmodifiableMap(new LinkedHashMap<>(meta));
        this.delim = Objects.requireNonNull(delim);
    }

    /** A FLOAT stream of {@code values.length / dim} samples in one chunk, with discover-utils' {@code <meta type="">}. */
    public static SsiStream ofFloats(double sampleRate, int dim, float[] values) {
        if (dim < 1 || values.length % dim != 0) throw new IllegalArgumentException(values.length + " values, dim " + dim);
        ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(values.length, 4)).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new SsiStream(sampleRate, dim, SampleType.FLOAT, 4, b.array(), null, Map.of("type", ""), " ");
    }

    /**
     * A stream over packed little-endian values (taken, not copied), in one chunk.
     *
     * @param byteWidth bytes per value (must match the type's fixed width, if it has one)
     */
    public static SsiStream of(double sampleRate, int dim, SampleType type, int byteWidth, byte[] littleEndian) {
        return new SsiStream(sampleRate, dim, type, byteWidth, littleEndian, null, Map.of("type", ""), " ");
    }

    /** This stream with other {@code <meta>} attributes. */
    public SsiStream withMeta(Map<String, String> newMeta) {
        return new SsiStream(sampleRate, dim, type, byteWidth, data, chunks, newMeta, delim);
    }

    /** {@code sr} in Hz. */
    public double sampleRate() { return sampleRate; }

    /** Values per sample. */
    public int dim() { return dim; }

    /** Value type. */
    public SampleType type() { return type; }

    /** Bytes per value ({@code byte}). */
    public int byteWidth() { return byteWidth; }

    /** Number of samples (sum of the chunks' {@code num}). */
    public long numSamples() { return numSamples; }

    /** The chunks as read (or the single chunk of a new stream). */
    public List<Chunk> chunks() { return chunks; }

    /** {@code <meta>} attributes. */
    public Map<String, String> meta() { return meta; }

    /** ASCII value delimiter ({@code delim}). */
    public String delim() { return delim; }

    /** The packed little-endian values, read-only. */
    public ByteBuffer data() {
        return ByteBuffer.wrap(data).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Value {@code d} of sample {@code sample} as a double (numeric types only). */
    public double value(long sample, int d) {
        Objects.checkIndex(sample, numSamples);
        Objects.checkIndex(d, dim);
        return get(ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN), (int) ((sample * dim + d) * byteWidth));
    }

    /** All values as floats, sample-major (numeric types only). */
    public float[] toFloats() {
        int n = data.length / byteWidth;
        float[] out = new float[n];
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (type == SampleType.FLOAT) {
            b.asFloatBuffer().get(out);
        } else {
            for (int i = 0; i < n; i++) out[i] = (float) get(b, i * byteWidth);
        }
        return out;
    }

    private double get(ByteBuffer b, int at) {
        return switch (type) {
            case CHAR -> b.get(at);
            case UCHAR -> b.get(at) & 0xff;
            case BOOL -> b.get(at) != 0 ? 1 : 0;
            case SHORT -> b.getShort(at);
            case USHORT -> b.getShort(at) & 0xffff;
            case INT -> b.getInt(at);
            case UINT -> Integer.toUnsignedLong(b.getInt(at));
            case LONG -> byteWidth == 4 ? b.getInt(at) : b.getLong(at);
            case ULONG -> byteWidth == 4 ? Integer.toUnsignedLong(b.getInt(at)) : unsigned(b.getLong(at));
            case FLOAT -> b.getFloat(at);
            case DOUBLE -> b.getDouble(at);
            case LDOUBLE -> {
                if (byteWidth != 8) throw new UnsupportedOperationException("LDOUBLE of " + byteWidth + " bytes");
                yield b.getDouble(at);
            }
            case UNDEF, STRUCT, IMAGE -> throw new UnsupportedOperationException(type + " values are not numbers");
        };
    }

    private static double unsigned(long v) {
        return v >= 0 ? v : (double) (v >>> 1) * 2.0 + (v & 1);
    }

    // ---------------------------------------------------------------- reading

    /** Reads {@code X.stream} + {@code X.stream~} (BINARY or ASCII). */
    public static SsiStream read(Path header) throws IOException {
        header = AtomicFiles.headerPath(header);
        Xml root = Xml.parse(header);
        root.version(header, "stream", 2);
        Xml info = root.child("info");
        if (info == null) throw NovaFormatException.atLine(header, root.line(), "<stream> lacks <info>");
        String ft = info.required(header, "ftype");
        FileType ftype = FileType.parse(ft);
        if (ftype == null) throw NovaFormatException.atLine(header, info.line(), "unknown ftype \"" + ft + "\"");
        double sr = info.requiredDouble(header, "sr");
        if (!(sr > 0) || Double.isInfinite(sr)) throw NovaFormatException.atLine(header, info.line(), "sr must be positive");
        long dim = info.requiredLong(header, "dim");
        long width = info.requiredLong(header, "byte");
        String tn = info.required(header, "type");
        SampleType type = SampleType.parse(tn);
        if (type == null) throw NovaFormatException.atLine(header, info.line(), "unknown type \"" + tn + "\"");
        if (dim < 1 || dim > Integer.MAX_VALUE || width < 1 || width > 1 << 20) {
            throw NovaFormatException.atLine(header, info.line(), "bad dim=" + dim + " or byte=" + width);
        }
        if (type.fixedWidth() != 0 && type.fixedWidth() != width) {
            throw NovaFormatException.atLine(header, info.line(), type + " is " + type.fixedWidth() + " bytes, header says byte=" + width);
        }
        String delim = info.attrs().getOrDefault("delim", " ");
        Xml metaEl = root.child("meta");
        Map<String, String> meta = metaEl == null ? Map.of() : metaEl.attrs();

        long sampleBytes = dim * width;
        List<Chunk> chunks = new ArrayList<>();
        long total = 0, nextOffset = 0;
        for (Xml c : root.all("chunk")) {
            long num = c.requiredLong(header, "num");
            long off = c.attr("byte") == null ? nextOffset : c.requiredLong(header, "byte");
            if (num < 0 || off < 0) throw NovaFormatException.atLine(header, c.line(), "negative num or byte");
            double from = c.attr("from") == null ? total / sr : c.requiredDouble(header, "from");
            double to = c.attr("to") == null ? from + num / sr : c.requiredDouble(header, "to");
            chunks.add(new Chunk(from, to, off, num));
            total = Math.addExact(total, num);
            if (total > MAX_BYTES / sampleBytes) {
                throw NovaFormatException.atLine(header, c.line(), "the chunks announce more than " + MAX_BYTES + " bytes of data");
            }
            nextOffset = off + num * sampleBytes;
        }
        Path dataFile = AtomicFiles.dataPath(header);
        if (total == 0 && !Files.exists(dataFile)) {
            return new SsiStream(sr, (int) dim, type, (int) width, new byte[0], chunks, meta, delim);
        }
        byte[] data = ftype == FileType.BINARY
                ? readBinary(dataFile, chunks, sampleBytes, total)
                : readAscii(dataFile, type, (int) dim, (int) width, delim, total);
        return new SsiStream(sr, (int) dim, type, (int) width, data, chunks, meta, delim);
    }

    private static byte[] readBinary(Path file, List<Chunk> chunks, long sampleBytes, long total) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long len = ch.size();
            long first = 0, covered = 0;
            for (Chunk c : chunks) {
                long end = c.byteOffset() + c.num() * sampleBytes;
                if (end > len) {
                    long have = Math.max(0, (len - c.byteOffset()) / sampleBytes);
                    throw NovaFormatException.atRecord(file, first + have + 1, "truncated: the chunk at byte "
                            + c.byteOffset() + " needs " + c.num() + " samples, the file is " + len + " bytes");
                }
                first += c.num();
                covered = Math.max(covered, end);
            }
            if (covered < len) {
                throw new NovaFormatException(file, (len - covered) + " bytes after the last chunk are not described by the header");
            }
            byte[] out = new byte[(int) (total * sampleBytes)];
            int pos = 0;
            for (Chunk c : chunks) {
                int n = (int) (c.num() * sampleBytes);
                ByteBuffer dst = ByteBuffer.wrap(out, pos, n);
                long at = c.byteOffset();
                while (dst.hasRemaining()) {
                    int r = ch.read(dst, at);
                    if (r < 0) throw NovaFormatException.atRecord(file, pos / sampleBytes + 1, "truncated");
                    at += r;
                }
                pos += n;
            }
            return out;
        }
    }

    private static byte[] readAscii(Path file, SampleType type, int dim, int width, String delim, long total)
            throws IOException {
        if (!type.isNumeric(width)) throw new NovaFormatException(file, type + " streams cannot be ASCII");
        byte[] raw = Texts.readBounded(file, MAX_BYTES);
        // a sample line takes at least 2 * dim bytes (values and separators): bound the allocation by the file
        if (total > (raw.length + 1L) / (2L * dim)) {
            throw new NovaFormatException(file, "the header announces " + total + " samples, the file is only " + raw.length + " bytes");
        }
        String text = Texts.decode(raw);
        ByteBuffer out = ByteBuffer.allocate((int) (total * dim * width)).order(ByteOrder.LITTLE_ENDIAN);
        boolean ws = delim.isBlank();
        long sample = 0;
        int lineNo = 0;
        for (String line : text.split("\r\n|\n|\r", -1)) {
            lineNo++;
            if (line.isBlank()) continue;
            if (sample == total) {
                throw NovaFormatException.atLine(file, lineNo, "more samples than the " + total + " the header announces");
            }
            String[] v = ws ? line.strip().split("\\s+") : line.split(java.util.regex.Pattern.quote(delim), -1);
            int n = v.length;
            if (!ws && n == dim + 1 && v[n - 1].isBlank()) n--; // tolerate a trailing delimiter
            if (n != dim) throw NovaFormatException.atLine(file, lineNo, "expected " + dim + " values, found " + n);
            for (int d = 0; d < dim; d++) {
                try {
                    put(out, type, width, v[d].strip());
                } catch (NumberFormatException e) {
                    throw NovaFormatException.atLine(file, lineNo, "value " + (d + 1) + " \"" + v[d] + "\" is not a valid " + type);
                }
            }
            sample++;
        }
        if (sample != total) {
            throw new NovaFormatException(file, "the header announces " + total + " samples, the data holds " + sample);
        }
        return out.array();
    }

    private static void put(ByteBuffer b, SampleType type, int width, String s) {
        switch (type) {
            case FLOAT -> b.putFloat((float) Texts.parseNumber(s));
            case DOUBLE, LDOUBLE -> b.putDouble(Texts.parseNumber(s));
            case CHAR -> b.put((byte) integer(s, Byte.MIN_VALUE, Byte.MAX_VALUE));
            case UCHAR -> b.put((byte) integer(s, 0, 0xff));
            case BOOL -> b.put((byte) integer(s, 0, 1));
            case SHORT -> b.putShort((short) integer(s, Short.MIN_VALUE, Short.MAX_VALUE));
            case USHORT -> b.putShort((short) integer(s, 0, 0xffff));
            case INT -> b.putInt((int) integer(s, Integer.MIN_VALUE, Integer.MAX_VALUE));
            case UINT -> b.putInt((int) integer(s, 0, 0xffffffffL));
            case LONG -> {
                if (width == 4) b.putInt((int) integer(s, Integer.MIN_VALUE, Integer.MAX_VALUE));
                else b.putLong(integer(s, Long.MIN_VALUE, Long.MAX_VALUE));
            }
            case ULONG -> {
                if (width == 4) b.putInt((int) integer(s, 0, 0xffffffffL));
                else b.putLong(Long.parseUnsignedLong(s));
            }
            case UNDEF, STRUCT, IMAGE -> throw new NumberFormatException(type.name());
        }
    }

    private static long integer(String s, long min, long max) {
        long v;
        try {
            v = Long.parseLong(s.startsWith("+") ? s.substring(1) : s);
        } catch (NumberFormatException e) {
            double d = Texts.parseNumber(s); // "3.0" from writers that print every value as float
            if (d != Math.rint(d) || Math.abs(d) > 0x1p62) throw new NumberFormatException(s);
            v = (long) d;
        }
        if (v < min || v > max) throw new NumberFormatException(s + " out of range");
        return v;
    }

    // ---------------------------------------------------------------- writing

    /** Writes {@code header} + {@code header~} in the given encoding; each file is replaced atomically. */
    public void write(Path header, FileType ftype) throws IOException {
        header = AtomicFiles.headerPath(header);
        if (ftype == FileType.ASCII && !type.isNumeric(byteWidth)) {
            throw new IllegalArgumentException(type + " streams cannot be written as ASCII");
        }
        long sampleBytes = (long) dim * byteWidth;
        long[] offsets = new long[chunks.size()];
        AtomicFiles.writePair(header, out -> {
            if (ftype == FileType.BINARY) {
                long at = 0;
                for (int i = 0; i < chunks.size(); i++) {
                    offsets[i] = at;
                    at += chunks.get(i).num() * sampleBytes;
                }
                out.write(data);
            } else {
                writeAscii(out, offsets);
            }
        }, () -> headerXml(ftype, offsets));
    }

    private void writeAscii(OutputStream out, long[] offsets) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        long written = 0, sample = 0;
        StringBuilder line = new StringBuilder();
        for (int c = 0; c < chunks.size(); c++) {
            offsets[c] = written;
            for (long k = 0; k < chunks.get(c).num(); k++, sample++) {
                line.setLength(0);
                for (int d = 0; d < dim; d++) {
                    if (d > 0) line.append(delim);
                    line.append(format(b, (int) ((sample * dim + d) * byteWidth)));
                }
                line.append('\n');
                byte[] bytes = line.toString().getBytes(StandardCharsets.UTF_8);
                out.write(bytes);
                written += bytes.length;
            }
        }
    }

    private String format(ByteBuffer b, int at) {
        return switch (type) {
            case FLOAT -> Float.toString(b.getFloat(at));
            case DOUBLE, LDOUBLE -> Double.toString(b.getDouble(at));
            case ULONG -> byteWidth == 8 ? Long.toUnsignedString(b.getLong(at)) : Long.toString(Integer.toUnsignedLong(b.getInt(at)));
            case LONG -> byteWidth == 8 ? Long.toString(b.getLong(at)) : Integer.toString(b.getInt(at));
            default -> Long.toString((long) get(b, at));
        };
    }

    private byte[] headerXml(FileType ftype, long[] offsets) {
        StringBuilder s = new StringBuilder("<stream ssi-v =\"2\">\n");
        s.append(String.format(Locale.ROOT, "    <info ftype=\"%s\" sr=\"%.3f\" dim=\"%d\" byte=\"%d\" type=\"%s\" delim=\"%s\" />\n",
                ftype.name(), sampleRate, dim, byteWidth, type.name(), Xml.escape(delim)));
        if (!meta.isEmpty()) s.append("    <meta").append(Xml.attrs(meta)).append(" />\n");
        for (int i = 0; i < chunks.size(); i++) {
            Chunk c = chunks.get(i);
            s.append(String.format(Locale.ROOT, "    <chunk from=\"%.3f\" to=\"%.3f\" byte=\"%d\" num=\"%d\" />\n",
                    c.from(), c.to(), offsets[i], c.num()));
        }
        s.append("</stream>\n");
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }
}
