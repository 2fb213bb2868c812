package dev.xlmr.nova;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A NOVA/SSI file that cannot be read without losing or inventing data: malformed XML, a bad line,
 * truncated binary data, a record count that disagrees with the header.
 *
 * <p>The message always names the file and, where it applies, the 1-based line or record number, e.g.
 * {@code "talk.annotation~: line 7: expected from;to;text;confidence"}.
 *
 * <pre>{@code
 * try { Annotations.read(path); }
 * catch (NovaFormatException e) { log(e.file() + " bad at line " + e.line()); }
 * }</pre>
 */
public class NovaFormatException extends IOException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;
    private final long line;
    private final long record;

    private NovaFormatException(Path file, long line, long record, String message, Throwable cause) {
        super(prefix(file, line, record) + message, cause);
        this.file = file;
        this.line = line;
        this.record = record;
    }

    /** An error about the file as a whole. */
    public NovaFormatException(Path file, String message) {
        this(file, -1, -1, message, null);
    }

    /** An error about the file as a whole with its cause. */
    public NovaFormatException(Path file, String message, Throwable cause) {
        this(file, -1, -1, message, cause);
    }

    static NovaFormatException atLine(Path file, long line, String message) {
        return new NovaFormatException(file, line, -1, message, null);
    }

    static NovaFormatException atRecord(Path file, long record, String message) {
        return new NovaFormatException(file, -1, record, message, null);
    }

    private static String prefix(Path file, long line, long record) {
        String name = file == null ? "<unknown>" : file.toString();
        if (line > 0) return name + ": line " + line + ": ";
        if (record > 0) return name + ": record " + record + ": ";
        return name + ": ";
    }

    /** The offending file. */
    public Path file() {
        return file;
    }

    /** 1-based line of a text file, or -1. */
    public long line() {
        return line;
    }

    /** 1-based record (sample) number of a binary file, or -1. */
    public long record() {
        return record;
    }
}
