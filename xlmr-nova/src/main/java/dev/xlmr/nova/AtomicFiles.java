package dev.xlmr.nova;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a header + data file pair through temporary files in the target folder and renames them into
 * place, so that a crash never leaves a half-written file under the final names.
 */
final class AtomicFiles {
    private AtomicFiles() {}

    interface Body {
        void write(OutputStream out) throws IOException;
    }

    /** Writes the data file first (the header may depend on what was written), then the header. */
    static void writePair(Path header, Body data, java.util.function.Supplier<byte[]> headerBytes) throws IOException {
        Path dataFile = dataPath(header);
        Path tmpData = temp(dataFile);
        Path tmpHeader = null;
        try {
            fill(tmpData, data);
            tmpHeader = temp(header);
            byte[] h = headerBytes.get();
            fill(tmpHeader, out -> out.write(h));
            // data before header: a reader never sees a new header describing old data
            move(tmpData, dataFile);
            move(tmpHeader, header);
        } finally {
            Files.deleteIfExists(tmpData);
            if (tmpHeader != null) Files.deleteIfExists(tmpHeader);
        }
    }

    /** {@code X.annotation -> X.annotation~}. */
    static Path dataPath(Path header) {
        return header.resolveSibling(header.getFileName().toString() + "~");
    }

    /** Accepts the header path or, by mistake, the data path. */
    static Path headerPath(Path p) {
        String n = p.getFileName().toString();
        return n.endsWith("~") ? p.resolveSibling(n.substring(0, n.length() - 1)) : p;
    }

    private static Path temp(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        return Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
    }

    private static void fill(Path tmp, Body body) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
            body.write(out);
            out.flush();
            ch.force(true);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
