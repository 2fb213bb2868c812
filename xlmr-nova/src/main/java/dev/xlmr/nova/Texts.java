package dev.xlmr.nova;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** Text helpers shared by the readers and writers: decoding, bounded reads, numbers, CSV. */
final class Texts {
    private Texts() {}

    static final Charset CP1252 = Charset.forName("windows-1252");
    private static final Pattern NUMBER = Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?");

    /** Reads a whole file, refusing files larger than {@code max} bytes before allocating. */
    static byte[] readBounded(Path file, long max) throws IOException {
        long size = Files.size(file);
        if (size > max) throw new NovaFormatException(file, "file is " + size + " bytes, more than the " + max + " allowed");
        try (InputStream in = Files.newInputStream(file)) {
            // the file may grow after the size check: never read more than the bound
            byte[] b = in.readNBytes((int) Math.min(max, Integer.MAX_VALUE - 16) + 1);
            if (b.length > max) throw new NovaFormatException(file, "file grew beyond the " + max + " bytes allowed");
            return b;
        }
    }

    /** A whole text file: UTF-8 when the bytes are valid UTF-8, else windows-1252 (old NOVA files); a BOM is dropped. */
    static String decode(byte[] bytes) {
        String s = decodeLabel(bytes);
        return !s.isEmpty() && s.charAt(0) == '\uFEFF' ? s.substring(1) : s;
    }

    /** As {@link #decode(byte[])}, keeping a leading U+FEFF (it is part of a label, not a BOM). */
    static String decodeLabel(byte[] bytes) {
        String s;
        try {
            s = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            s = new String(bytes, CP1252);
        }
        return s;
    }

    /** Parses a decimal number as Python's float() would (no Java suffixes such as "1f", no hex). */
    static double parseNumber(String raw) {
        String s = raw.strip();
        String l = s.toLowerCase(java.util.Locale.ROOT);
        switch (l) {
            case "nan", "+nan", "-nan" -> { return Double.NaN; }
            case "inf", "+inf", "infinity", "+infinity" -> { return Double.POSITIVE_INFINITY; }
            case "-inf", "-infinity" -> { return Double.NEGATIVE_INFINITY; }
            default -> { }
        }
        if (!NUMBER.matcher(s).matches()) throw new NumberFormatException("not a number: '" + raw + "'");
        return Double.parseDouble(s);
    }

    /** Shortest decimal that reads back to the same double, without exponent (Python-repr like "1.0"). */
    static String format(double v) {
        if (Double.isNaN(v)) return "nan";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return (long) v + ".0";
        return new BigDecimal(Double.toString(v)).toPlainString();
    }

    /** As {@link #format(double)}, with float precision. */
    static String format(float v) {
        if (Float.isNaN(v)) return "nan";
        if (Float.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        if (v == Math.rint(v) && Math.abs(v) < 1e7f) return (long) v + ".0";
        return new BigDecimal(Float.toString(v)).toPlainString();
    }

    /** One CSV record with the 1-based line it starts on. */
    record Row(int line, List<String> fields) {}

    /**
     * Splits text into records as Python's csv module does with {@code delimiter=';', quotechar='"'}:
     * a field starting with a quote may hold the delimiter, doubled quotes and line breaks. Blank lines
     * are skipped (discover-utils would fail on them; nothing is lost by skipping). A quote that is never
     * closed (NOVA does not escape texts, so a text may start with one) is read literally for its line
     * instead of swallowing the rest of the file.
     */
    static List<Row> csv(String text, char delim) {
        List<Row> rows = new ArrayList<>();
        int[] line = {1};
        int at = 0;
        while (at < text.length()) {
            int rowLine = line[0];
            int next = row(text, at, delim, true, rows, line);
            if (next < 0) {
                line[0] = rowLine;
                next = row(text, at, delim, false, rows, line);
            }
            at = next;
        }
        return rows;
    }

    /** Parses one record starting at {@code at}; returns where the next starts, or -1 for an unclosed quote. */
    private static int row(String text, int at, char delim, boolean quotes, List<Row> rows, int[] line) {
        List<String> fields = new ArrayList<>();
        StringBuilder f = new StringBuilder();
        int rowLine = line[0], n = text.length(), i = at;
        boolean quoted = false, afterQuote = false;
        for (; i < n; i++) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '"') {
                    if (i + 1 < n && text.charAt(i + 1) == '"') { f.append('"'); i++; }
                    else { quoted = false; afterQuote = true; }
                } else {
                    if (c == '\n' || (c == '\r' && (i + 1 >= n || text.charAt(i + 1) != '\n'))) line[0]++;
                    f.append(c);
                }
            } else if (c == delim) {
                fields.add(f.toString());
                f.setLength(0);
                afterQuote = false;
            } else if (c == '\r' || c == '\n') {
                if (c == '\r' && i + 1 < n && text.charAt(i + 1) == '\n') i++;
                i++;
                break;
            } else if (quotes && c == '"' && f.isEmpty() && !afterQuote) {
                quoted = true;
            } else {
                f.append(c);
            }
        }
        if (quoted) return -1;
        line[0]++;
        if (!fields.isEmpty() || !f.toString().isBlank()) {
            fields.add(f.toString());
            rows.add(new Row(rowLine, List.copyOf(fields)));
        }
        return i;
    }

    /** Python's str.strip(): also strips NBSP and the other characters str.isspace() accepts. */
    static String pyStrip(String s) {
        int a = 0, b = s.length();
        while (a < b && pySpace(s.charAt(a))) a++;
        while (b > a && pySpace(s.charAt(b - 1))) b--;
        return s.substring(a, b);
    }

    private static boolean pySpace(char c) {
        return (c >= '\t' && c <= '\r') || (c >= '\u001c' && c <= '\u001f') || c == ' ' || c == '\u0085'
                || c == '\u00a0' || c == '\u1680' || (c >= '\u2000' && c <= '\u200a') || c == '\u2028'
                || c == '\u2029' || c == '\u202f' || c == '\u205f' || c == '\u3000';
    }
}
