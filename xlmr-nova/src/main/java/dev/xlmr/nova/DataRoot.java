package dev.xlmr.nova;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Confines client-supplied paths (request uris, trainer paths) to one folder.
 *
 * <p>Both {@code /} and {@code \} separate segments ({@code modules\xlm_roberta\xlm_roberta.trainer}).
 * Rejected with {@link PathEscapeException}: {@code ..} that leaves the root, absolute paths outside it
 * (also {@code C:\...} and {@code \\server\...}), NUL characters, and symbolic links whose target lies
 * outside (checked with toRealPath on the nearest existing ancestor, so a path to a file still to be
 * written is checked too) or does not exist.
 *
 * <pre>{@code
 * DataRoot root = new DataRoot(Path.of("/srv/discover"));
 * Path trainer = root.resolve("modules\\xlm_roberta\\xlm_roberta.trainer");
 * root.resolve("../etc/passwd");   // PathEscapeException
 * Path data = root.realFile(root.resolve("s/x.annotation~"));   // a link out of the root: PathEscapeException
 * }</pre>
 *
 * <p>{@link #resolve} checks a path before it is used; {@link #realFile} is for the moment a file is
 * opened: it resolves every link of an existing file and checks the result again, so that a link inside
 * the root (such as {@code x.annotation~} next to a real header) cannot lead a reader outside.
 */
public final class DataRoot {
    private final Path root;

    /** @param root an existing folder; symbolic links in it are resolved once here */
    public DataRoot(Path root) throws IOException {
        this.root = root.toRealPath();
        if (!Files.isDirectory(this.root)) throw new IOException(root + " is not a folder");
    }

    /** The real path of the root. */
    public Path root() {
        return root;
    }

    /** The path of {@code uri} inside the root (it need not exist). */
    public Path resolve(String uri) throws IOException {
        if (uri == null || uri.isBlank()) throw new PathEscapeException("empty path");
        if (uri.indexOf('\0') >= 0) throw new PathEscapeException("path contains NUL: " + uri.replace('\0', '?'));
        String u = uri.replace('\\', '/');
        if (u.startsWith("//") || (u.length() >= 2 && Character.isLetter(u.charAt(0)) && u.charAt(1) == ':')) {
            throw new PathEscapeException("path outside the data folder: " + uri);
        }
        Path p;
        try {
            Path given = Path.of(u);
            p = (given.isAbsolute() ? given : root.resolve(given)).normalize();
        } catch (InvalidPathException e) {
            throw new PathEscapeException("invalid path: " + uri);
        }
        if (!p.startsWith(root)) throw new PathEscapeException("path outside the data folder: " + uri);
        // Lexically inside; now follow links on the longest existing prefix.
        Path existing = p;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) existing = existing.getParent();
        if (existing == null) throw new PathEscapeException("path outside the data folder: " + uri);
        Path real;
        try {
            real = existing.toRealPath();
        } catch (NoSuchFileException e) {
            throw new PathEscapeException("path goes through a dangling symbolic link: " + uri);
        }
        if (!real.startsWith(root)) throw new PathEscapeException("path leaves the data folder through a symbolic link: " + uri);
        return p;
    }

    /**
     * The real path (all links resolved) of an existing file under the root, to open instead of {@code p}.
     *
     * @throws PathEscapeException  when the file's real path lies outside the root
     * @throws NoSuchFileException  when it does not exist
     */
    public Path realFile(Path p) throws IOException {
        Path real = p.toRealPath();
        if (!real.startsWith(root)) {
            throw new PathEscapeException(root.relativize(p.toAbsolutePath().normalize()) + " leads outside the data folder");
        }
        return real;
    }

    /** Whether {@code p} exists and its real path lies inside the root. */
    public boolean isInside(Path p) {
        try {
            return p.toRealPath().startsWith(root);
        } catch (IOException e) {
            return false;
        }
    }
}
