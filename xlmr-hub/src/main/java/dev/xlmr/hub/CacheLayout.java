package dev.xlmr.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The cache layout of Python's huggingface_hub, so that both share one cache:
 * {@code models--org--name/{blobs/<etag>, snapshots/<commit>/<file> -> ../../blobs/<etag>,
 * refs/<revision>}}.
 */
final class CacheLayout {
    static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern REPO_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9_.-]+)?");
    private static final Pattern ETAG = Pattern.compile("[A-Za-z0-9_.+=-]+");

    private final Path root;
    /** Cleared after the first failed symlink, so later files are copied straight away (as Python does). */
    private volatile boolean symlinks;

    CacheLayout(Path root) {
        this(root, true);
    }

    CacheLayout(Path root, boolean symlinks) {
        this.root = root;
        this.symlinks = symlinks;
    }

    Path root() {
        return root;
    }

    static String checkRepoId(String repoId) {
        if (repoId == null || !REPO_ID.matcher(repoId).matches() || repoId.contains("--") || repoId.contains("..")
                || repoId.endsWith(".") || repoId.endsWith("-")) {
            throw new HubException("invalid hub repository id '" + repoId + "': expected 'name' or 'org/name'");
        }
        return repoId;
    }

    /** Rejects paths that could escape the snapshot folder (the file names come from the server). */
    static String checkRelative(String what, String path) {
        if (path == null || path.isEmpty() || path.startsWith("/") || path.contains("\\") || path.contains("\0")) {
            throw new HubException("invalid " + what + " '" + path + "'");
        }
        for (String seg : path.split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                throw new HubException("invalid " + what + " '" + path + "'");
            }
        }
        return path;
    }

    static String checkEtag(String etag, String file) {
        if (etag == null || !ETAG.matcher(etag).matches()) {
            throw new HubException("the hub sent no usable ETag for " + file + " (got '" + etag + "')");
        }
        return etag;
    }

    /** Marks the cache for backup tools (the Cache Directory Tagging Standard), as huggingface_hub does. */
    void tag() {
        Path tag = root.resolve("CACHEDIR.TAG");
        if (!Files.exists(tag)) {
            try {
                Files.createDirectories(root);
                Files.writeString(tag, "Signature: 8a477f597d28d172789f06886806bc55\n"
                        + "# This file is a cache directory tag created by huggingface_hub.\n"
                        + "# For information about cache directory tags, see:\n"
                        + "#\thttps://bford.info/cachedir/\n", StandardCharsets.UTF_8);
            } catch (IOException e) {
                // only a courtesy to backup tools
            }
        }
    }

    Path repoDir(String repoId) {
        return root.resolve("models--" + repoId.replace("/", "--"));
    }

    Path blob(String repoId, String etag) {
        return repoDir(repoId).resolve("blobs").resolve(etag);
    }

    Path snapshotDir(String repoId, String commit) {
        return repoDir(repoId).resolve("snapshots").resolve(commit);
    }

    Path pointer(String repoId, String commit, String file) {
        return snapshotDir(repoId, commit).resolve(file);
    }

    Path lockFile(String repoId, String etag) {
        return root.resolve(".locks").resolve("models--" + repoId.replace("/", "--")).resolve(etag + ".lock");
    }

    private Path ref(String repoId, String revision) {
        return repoDir(repoId).resolve("refs").resolve(checkRelative("revision", revision));
    }

    /** The commit a revision points to in the cache: a commit hash names itself, else refs/&lt;revision&gt;. */
    Optional<String> commitOf(String repoId, String revision) {
        if (COMMIT.matcher(revision).matches() && Files.isDirectory(snapshotDir(repoId, revision))) {
            return Optional.of(revision);
        }
        Path ref = ref(repoId, revision);
        if (!Files.isRegularFile(ref)) {
            return Optional.empty();
        }
        try {
            String commit = Files.readString(ref, StandardCharsets.UTF_8).strip();
            return COMMIT.matcher(commit).matches() ? Optional.of(commit) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + ref, e);
        }
    }

    /** Points refs/&lt;revision&gt; at the commit, as Python does for every revision that is not the hash itself. */
    void writeRef(String repoId, String revision, String commit) throws IOException {
        if (revision.equals(commit)) {
            return;
        }
        Path ref = ref(repoId, revision);
        Files.createDirectories(ref.getParent());
        if (Files.isRegularFile(ref) && Files.readString(ref, StandardCharsets.UTF_8).strip().equals(commit)) {
            return;
        }
        Path tmp = Files.createTempFile(ref.getParent(), ".ref", ".tmp");
        Files.writeString(tmp, commit, StandardCharsets.UTF_8);
        moveAtomically(tmp, ref);
    }

    /**
     * Makes snapshots/&lt;commit&gt;/&lt;file&gt; a relative symlink to the blob, like Python, so the cache
     * moves as a whole; where symlinks are not allowed (some Windows set-ups) it holds a copy.
     */
    void link(Path blob, Path pointer) throws IOException {
        if (present(pointer)) {
            return; // linked by another thread or process meanwhile
        }
        Files.createDirectories(pointer.getParent());
        Files.deleteIfExists(pointer); // a dangling link to a deleted blob
        if (symlinks) {
            try {
                Files.createSymbolicLink(pointer, pointer.getParent().relativize(blob));
                return;
            } catch (FileAlreadyExistsException e) {
                return; // another process linked it meanwhile: same content by construction
            } catch (UnsupportedOperationException | IOException e) {
                symlinks = false;
            }
        }
        Path tmp = Files.createTempFile(pointer.getParent(), ".copy", ".tmp");
        Files.copy(blob, tmp, StandardCopyOption.REPLACE_EXISTING);
        moveAtomically(tmp, pointer);
    }

    /** Whether the snapshot holds the file (a symlink must lead to an existing blob). */
    static boolean present(Path pointer) {
        return Files.isRegularFile(pointer); // follows the link
    }

    static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
