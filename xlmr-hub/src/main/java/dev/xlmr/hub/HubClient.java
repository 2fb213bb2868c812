package dev.xlmr.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * A Hugging Face Hub client that downloads into the cache of Python's huggingface_hub
 * ({@code $HF_HUB_CACHE}, else {@code $HF_HOME/hub}, else {@code ~/.cache/huggingface/hub}), so both
 * share downloads. A revision already in the cache is served without any network request.
 *
 * <pre>{@code
 * HubClient hub = HubClient.fromEnvironment();
 * Path dir = hub.snapshot("intfloat/multilingual-e5-base", "main",
 *         List.of("config.json", "tokenizer.json", "model.safetensors"));
 * // dir = ~/.cache/huggingface/hub/models--intfloat--multilingual-e5-base/snapshots/<commit>
 * }</pre>
 *
 * Environment: {@code HF_ENDPOINT}, {@code HF_TOKEN} (or the file {@code HF_TOKEN_PATH}, default
 * {@code $HF_HOME/token}), {@code HF_HUB_CACHE}, {@code HF_HOME}, {@code HF_HUB_OFFLINE=1} (cache only),
 * {@code HF_HUB_DISABLE_PROGRESS_BARS=1}, {@code HF_HUB_DOWNLOAD_TIMEOUT} (seconds). Instances are
 * thread-safe.
 */
public final class HubClient {
    /** The public hub. */
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    /** Files from this size on get a progress bar. */
    static final long PROGRESS_MIN_BYTES = 1L << 20;
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final java.util.Set<String> HUB_HOSTS = java.util.Set.of("huggingface.co", "hf.co");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ConcurrentHashMap<Path, ReentrantLock> BLOB_LOCKS = new ConcurrentHashMap<>();
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "xlmr-hub-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final String endpoint;
    private final URI endpointUri;
    private final CacheLayout cache;
    private final String token;
    private final boolean offline;
    private final boolean progress;
    private final PrintStream progressOut;
    private final Duration timeout;
    private final int maxAttempts;
    private final Duration backoff;
    private final HttpClient http;
    private final Map<String, RepoInfo> infos = new ConcurrentHashMap<>();

    private HubClient(Builder b, Map<String, String> env) {
        Path hfHome = hfHome(env);
        this.endpoint = stripSlashes(b.endpoint != null ? b.endpoint : nonBlank(env.get("HF_ENDPOINT"), DEFAULT_ENDPOINT));
        this.endpointUri = URI.create(endpoint);
        if (endpointUri.getScheme() == null || endpointUri.getHost() == null) {
            throw new HubException("invalid hub endpoint '" + endpoint + "' (HF_ENDPOINT): expected e.g. https://huggingface.co");
        }
        Path cacheDir = b.cacheDir;
        if (cacheDir == null) {
            String dir = nonBlank(env.get("HF_HUB_CACHE"), env.get("HUGGINGFACE_HUB_CACHE"));
            cacheDir = dir != null ? expandUser(dir) : hfHome.resolve("hub");
        }
        this.cache = new CacheLayout(cacheDir);
        this.token = b.token != null ? nonBlank(b.token) : tokenFrom(env, hfHome);
        this.offline = b.offline != null ? b.offline
                : isTrue(env.get("HF_HUB_OFFLINE")) || isTrue(env.get("TRANSFORMERS_OFFLINE"));
        this.progress = b.progress != null ? b.progress
                : !isTrue(env.get("HF_HUB_DISABLE_PROGRESS_BARS")) && stderrIsTerminal();
        this.progressOut = b.progressOut != null ? b.progressOut : System.err;
        Duration t = b.timeout;
        if (t == null) {
            String s = env.get("HF_HUB_DOWNLOAD_TIMEOUT");
            try {
                t = s == null || s.isBlank() ? Duration.ofSeconds(30) : Duration.ofMillis((long) (Double.parseDouble(s) * 1000));
            } catch (NumberFormatException e) {
                t = Duration.ZERO;
            }
            if (!t.isPositive()) {
                throw new HubException("HF_HUB_DOWNLOAD_TIMEOUT must be a positive number of seconds, got '" + s + "'");
            }
        }
        this.timeout = t;
        this.maxAttempts = b.maxAttempts;
        this.backoff = b.backoff;
        // Redirects are followed by hand: the token must not go to the CDN the hub redirects to.
        this.http = HttpClient.newBuilder()
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    /** A client configured from the process environment. */
    public static HubClient fromEnvironment() {
        return builder().build();
    }

    /** A client configured from the given environment variables instead of the process's. */
    public static HubClient fromEnvironment(Map<String, String> env) {
        return builder().environment(env).build();
    }

    /** A builder whose unset options come from the environment. */
    public static Builder builder() {
        return new Builder();
    }

    /** The hub URL, e.g. {@code https://huggingface.co}. */
    public String endpoint() {
        return endpoint;
    }

    /** The cache folder, holding {@code models--org--name} folders. */
    public Path cacheDir() {
        return cache.root();
    }

    /** Whether this client only reads the cache ({@code HF_HUB_OFFLINE=1}). */
    public boolean offline() {
        return offline;
    }

    /**
     * Lists the files of a repository at a revision and pins the revision to a commit
     * ({@code GET {endpoint}/api/models/{repo}/revision/{rev}}); remembered for the client's lifetime.
     *
     * @throws HubException when offline, not found (404), refused (401/403: gated or private) or unreachable
     */
    public RepoInfo repoInfo(String repoId, String revision) {
        String repo = CacheLayout.checkRepoId(repoId);
        String rev = revisionOrMain(revision);
        if (offline) {
            throw new HubException("offline (HF_HUB_OFFLINE=1): cannot list the files of " + repo + "@" + rev);
        }
        RepoInfo known = infos.get(repo + "@" + rev);
        if (known != null) {
            return known;
        }
        URI uri = URI.create(endpoint + "/api/models/" + repo + "/revision/" + encode(rev));
        HttpResponse<byte[]> r = sendRetrying(() -> request("GET", uri).header("Accept", "application/json").build(),
                HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            throw httpError(r.statusCode(), r.headers(), repo, rev, null);
        }
        RepoInfo info;
        try {
            JsonNode json = JSON.readTree(r.body());
            String sha = json.path("sha").asText("");
            if (!CacheLayout.COMMIT.matcher(sha).matches()) {
                throw new HubException("the hub's answer for " + repo + "@" + rev + " has no commit hash (" + uri + ")");
            }
            List<String> files = new ArrayList<>();
            for (JsonNode s : json.path("siblings")) {
                files.add(s.path("rfilename").asText());
            }
            info = new RepoInfo(repo, sha, files);
        } catch (IOException e) {
            throw new HubException("the hub sent invalid JSON for " + uri + ": " + e.getMessage(), e);
        }
        infos.put(repo + "@" + rev, info);
        return info;
    }

    /**
     * Returns the snapshot folder of a repository revision holding the given files, downloading
     * those not in the cache yet. When the revision and all the files are cached, no request is made
     * (so a branch such as {@code main} is not checked for newer commits).
     *
     * @param repoId   {@code org/name}
     * @param revision a branch, tag or commit hash; null means {@code main}
     * @param files    paths in the repository, e.g. {@code config.json}, {@code 1_Pooling/config.json}
     * @return {@code <cache>/models--org--name/snapshots/<commit>}
     * @throws HubException when a file is not in the repository, when offline and something is not
     *                      cached, or when a download fails
     */
    public Path snapshot(String repoId, String revision, List<String> files) {
        String repo = CacheLayout.checkRepoId(repoId);
        String rev = revisionOrMain(revision);
        files.forEach(f -> CacheLayout.checkRelative("file name", f));
        Optional<Path> cached = cachedSnapshot(repo, rev);
        if (cached.isPresent()) {
            List<String> missing = files.stream().filter(f -> !CacheLayout.present(cached.get().resolve(f))).toList();
            if (missing.isEmpty()) {
                return cached.get();
            }
            if (offline) {
                throw offlineMissing(repo, rev, "missing " + String.join(", ", missing) + " in " + cached.get());
            }
        } else if (offline) {
            throw offlineMissing(repo, rev, "no " + rev + " in " + cache.repoDir(repo).resolve("refs"));
        }
        return snapshot(repoInfo(repo, rev), rev, files);
    }

    /** Downloads what is missing of the files at the commit of {@code info}, then points refs/&lt;revision&gt; at it. */
    Path snapshot(RepoInfo info, String revision, List<String> files) {
        files.forEach(f -> CacheLayout.checkRelative("file name", f)); // some come from the server's listing
        List<String> absent = files.stream().filter(f -> !info.has(f)).toList();
        if (!absent.isEmpty()) {
            throw new HubException(info.repoId() + "@" + revision + " has no file " + String.join(", ", absent));
        }
        try {
            cache.tag();
            for (String f : files) {
                ensureFile(info.repoId(), info.commit(), f);
            }
            cache.writeRef(info.repoId(), revision, info.commit());
        } catch (IOException e) {
            throw new HubException("cannot write to the hub cache " + cache.root() + ": " + e, e);
        }
        return cache.snapshotDir(info.repoId(), info.commit());
    }

    /** The cached snapshot folder of a revision, if the cache knows its commit. */
    Optional<Path> cachedSnapshot(String repoId, String revision) {
        return cache.commitOf(repoId, revisionOrMain(revision)).map(c -> cache.snapshotDir(repoId, c))
                .filter(Files::isDirectory);
    }

    HubException offlineMissing(String repo, String rev, String what) {
        return new HubException("offline (HF_HUB_OFFLINE=1) and " + repo + "@" + rev
                + " is not fully in the cache: " + what);
    }

    // ---- one file -------------------------------------------------------------------------------

    /** What the hub says about a file before it is downloaded. */
    private record FileMeta(String repo, String file, String commit, String etag, long size, URI location, String sha256) {}

    private void ensureFile(String repo, String commit, String file) throws IOException {
        Path pointer = cache.pointer(repo, commit, file);
        if (CacheLayout.present(pointer)) {
            return;
        }
        FileMeta meta = head(repo, commit, file);
        Path blob = cache.blob(repo, meta.etag());
        withBlobLock(repo, meta.etag(), () -> {
            if (!Files.isRegularFile(blob)) {
                download(meta, blob);
            }
        });
        cache.link(blob, pointer);
    }

    /** HEAD on the resolve URL, following same-host redirects only, as huggingface_hub does. */
    private FileMeta head(String repo, String commit, String file) {
        URI uri = URI.create(endpoint + "/" + repo + "/resolve/" + encode(commit) + "/" + encodePath(file));
        for (int hop = 0; hop < 10; hop++) {
            URI current = uri;
            HttpResponse<Void> r = sendRetrying(() -> request("HEAD", current).build(), HttpResponse.BodyHandlers.discarding());
            int s = r.statusCode();
            Optional<String> location = r.headers().firstValue("Location");
            if (s >= 300 && s < 400 && location.isPresent()) {
                URI next = current.resolve(location.get());
                if (r.headers().firstValue("X-Linked-Etag").isPresent() || !sameOrigin(next)) {
                    return meta(r.headers(), repo, file, commit, next, true);
                }
                uri = next;
            } else if (s >= 200 && s < 300) {
                return meta(r.headers(), repo, file, commit, current, false);
            } else {
                throw httpError(s, r.headers(), repo, commit, file);
            }
        }
        throw new HubException("too many redirects for " + file + " of " + repo);
    }

    private static FileMeta meta(HttpHeaders h, String repo, String file, String commit, URI location, boolean redirect) {
        String linked = h.firstValue("X-Linked-Etag").orElse(null);
        String etag = CacheLayout.checkEtag(normalizeEtag(linked != null ? linked : h.firstValue("ETag").orElse(null)), file);
        String repoCommit = h.firstValue("X-Repo-Commit").orElse(commit);
        if (!repoCommit.equals(commit)) {
            throw new HubException("the hub served " + file + " from commit " + repoCommit + " instead of " + commit);
        }
        long size = h.firstValueAsLong("X-Linked-Size").orElse(redirect ? -1 : h.firstValueAsLong("Content-Length").orElse(-1));
        // LFS files are named by the sha256 of their content: check it after the download
        String sha = linked != null && SHA256.matcher(etag).matches() ? etag : null;
        return new FileMeta(repo, file, commit, etag, size, location, sha);
    }

    private void download(FileMeta meta, Path blob) throws IOException {
        Path incomplete = blob.resolveSibling(blob.getFileName() + ".incomplete");
        try (Progress bar = progress && meta.size() >= PROGRESS_MIN_BYTES
                ? Progress.start(meta.file(), meta.size(), progressOut) : Progress.NONE) {
            for (int attempt = 1; ; attempt++) {
                try {
                    fetch(meta, incomplete, bar);
                    break;
                } catch (Transient e) {
                    if (attempt >= maxAttempts) {
                        throw e.toHubException(meta.file(), attempt);
                    }
                    pause(attempt);
                }
            }
        }
        if (meta.sha256() != null) {
            String got = sha256(incomplete);
            if (!got.equals(meta.sha256())) {
                Files.deleteIfExists(incomplete);
                throw new HubException("checksum mismatch for " + meta.file() + ": expected sha256 " + meta.sha256()
                        + ", got " + got + "; the download was deleted, try again");
            }
        }
        CacheLayout.moveAtomically(incomplete, blob);
    }

    /** One GET into {@code incomplete}, resuming from its current length. */
    private void fetch(FileMeta meta, Path incomplete, Progress bar) throws IOException, Transient {
        long have = Files.exists(incomplete) ? Files.size(incomplete) : 0;
        if (meta.size() >= 0 && have > meta.size()) {
            Files.delete(incomplete);
            have = 0;
        }
        if (meta.size() >= 0 && have == meta.size()) {
            if (have == 0) {
                Files.createDirectories(incomplete.getParent());
                Files.write(incomplete, new byte[0]);
            }
            return;
        }
        URI uri = meta.location();
        for (int hop = 0; hop < 10; hop++) {
            HttpRequest.Builder req = request("GET", uri);
            if (have > 0) {
                req.header("Range", "bytes=" + have + "-");
            }
            HttpResponse<InputStream> r = sendOnce(req.build(), HttpResponse.BodyHandlers.ofInputStream());
            int s = r.statusCode();
            Optional<String> location = r.headers().firstValue("Location");
            if (s >= 300 && s < 400 && location.isPresent()) {
                r.body().close();
                uri = uri.resolve(location.get());
                continue;
            }
            boolean append;
            if (s == 206) {
                String range = r.headers().firstValue("Content-Range").orElse("");
                if (!range.startsWith("bytes " + have + "-")) {
                    r.body().close();
                    Files.deleteIfExists(incomplete);
                    throw new Transient("the server resumed at the wrong offset (" + range + ")", null);
                }
                append = true;
            } else if (s == 200) {
                append = false; // the server ignored Range: start over
                have = 0;
            } else if (s == 416 && have > 0) {
                r.body().close();
                Files.deleteIfExists(incomplete);
                throw new Transient("the server could not resume the download", null);
            } else {
                r.body().close();
                throw sameOrigin(uri) ? httpError(s, r.headers(), meta.repo(), meta.commit(), meta.file())
                        : new HubException("download of " + meta.file() + " from " + uri.getHost() + " failed with HTTP " + s, s, null);
            }
            copy(r.body(), incomplete, append, have, bar);
            long got = Files.size(incomplete);
            if (meta.size() >= 0 && got < meta.size()) {
                throw new Transient("connection closed after " + got + " of " + meta.size() + " bytes", null);
            }
            if (meta.size() >= 0 && got > meta.size()) {
                Files.delete(incomplete);
                throw new HubException("the hub sent " + got + " bytes for " + meta.file() + ", expected " + meta.size());
            }
            return;
        }
        throw new HubException("too many redirects for " + meta.file());
    }

    private void copy(InputStream body, Path incomplete, boolean append, long start, Progress bar)
            throws IOException, Transient {
        Files.createDirectories(incomplete.getParent());
        long nanos = timeout.toNanos();
        AtomicLong last = new AtomicLong(System.nanoTime());
        AtomicBoolean stalled = new AtomicBoolean();
        // java.net.http has no read timeout: close the stream when no byte came for `timeout`
        long period = Math.max(20, timeout.toMillis() / 4);
        ScheduledFuture<?> watch = WATCHDOG.scheduleAtFixedRate(() -> {
            if (System.nanoTime() - last.get() > nanos) {
                stalled.set(true);
                try {
                    body.close();
                } catch (IOException ignored) {
                    // closing is only to unblock the reader
                }
            }
        }, period, period, TimeUnit.MILLISECONDS);
        long done = start;
        try (InputStream in = body;
             OutputStream out = Files.newOutputStream(incomplete, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
                done += n;
                last.set(System.nanoTime());
                bar.stepTo(done);
            }
        } catch (IOException e) {
            throw new Transient(stalled.get() ? "no data for " + timeout.toSeconds() + " s" : describe(e), e);
        } finally {
            watch.cancel(false);
        }
        if (stalled.get()) {
            throw new Transient("no data for " + timeout.toSeconds() + " s", null);
        }
    }

    private interface IoAction {
        void run() throws IOException;
    }

    /** One download per blob at a time, across threads (in-JVM lock) and processes (file lock). */
    private void withBlobLock(String repo, String etag, IoAction action) throws IOException {
        Path lockPath = cache.lockFile(repo, etag).toAbsolutePath().normalize();
        ReentrantLock lock = BLOB_LOCKS.computeIfAbsent(lockPath, k -> new ReentrantLock());
        lock.lock();
        try {
            Files.createDirectories(lockPath.getParent());
            try (FileChannel ch = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                FileLock fileLock = ch.lock(); // released when the channel closes
                action.run();
                fileLock.release();
            }
        } finally {
            lock.unlock();
        }
    }

    // ---- HTTP -----------------------------------------------------------------------------------

    /** A failure worth retrying: connection trouble, timeouts, 408/429/5xx. */
    private static final class Transient extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;

        Transient(String message, Throwable cause) {
            this(message, -1, cause);
        }

        Transient(String message, int status, Throwable cause) {
            super(message, cause);
            this.status = status;
        }

        HubException toHubException(String what, int attempts) {
            return new HubException("download of " + what + " failed after " + attempts + " attempts: " + getMessage(),
                    status, getCause());
        }
    }

    private HttpRequest.Builder request(String method, URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .method(method, HttpRequest.BodyPublishers.noBody())
                .header("User-Agent", "xlmr-hub/0.1; java/" + Runtime.version().feature())
                .header("Accept-Encoding", "identity");
        if (token != null && sameOrigin(uri)) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    /**
     * Whether a URL is on the hub, so that it may get the token: the endpoint's host (no https-to-http
     * downgrade) or huggingface.co / hf.co over https, as in huggingface_hub. CDN URLs are signed and
     * must not see the token.
     */
    private boolean sameOrigin(URI uri) {
        String host = Objects.requireNonNullElse(uri.getHost(), "").toLowerCase(Locale.ROOT);
        boolean https = "https".equalsIgnoreCase(uri.getScheme());
        if (host.equalsIgnoreCase(endpointUri.getHost())) {
            return https || !"https".equalsIgnoreCase(endpointUri.getScheme());
        }
        return https && HUB_HOSTS.contains(host);
    }

    private <T> HttpResponse<T> sendOnce(HttpRequest req, HttpResponse.BodyHandler<T> handler) throws Transient {
        HttpResponse<T> r;
        try {
            r = http.send(req, handler);
        } catch (IOException e) {
            throw new Transient(describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException("interrupted while talking to " + endpoint, e);
        }
        int s = r.statusCode();
        if (s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504) {
            if (r.body() instanceof InputStream in) {
                try {
                    in.close();
                } catch (IOException ignored) {
                    // the response is dropped anyway
                }
            }
            throw new Transient("HTTP " + s + " from " + req.uri(), s, null);
        }
        return r;
    }

    private <T> HttpResponse<T> sendRetrying(Supplier<HttpRequest> req, HttpResponse.BodyHandler<T> handler) {
        for (int attempt = 1; ; attempt++) {
            try {
                return sendOnce(req.get(), handler);
            } catch (Transient e) {
                if (attempt >= maxAttempts) {
                    throw e.getCause() instanceof ConnectException || e.getCause() instanceof HttpConnectTimeoutException
                            ? new HubException("cannot reach the hub at " + endpoint + " (" + e.getMessage()
                                    + "); set HF_HUB_OFFLINE=1 to use only the local cache", e.getCause())
                            : new HubException("hub request failed after " + attempt + " attempts: " + e.getMessage(),
                                    e.status, e.getCause());
                }
                pause(attempt);
            }
        }
    }

    private void pause(int attempt) {
        try {
            Thread.sleep(backoff.multipliedBy(1L << Math.min(attempt - 1, 5)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException("interrupted while waiting to retry", e);
        }
    }

    private HubException httpError(int status, HttpHeaders h, String repo, String rev, String file) {
        String code = h.firstValue("X-Error-Code").orElse("");
        String what = repo + "@" + rev;
        String hubSays = h.firstValue("X-Error-Message").map(m -> " (hub: " + m.strip() + ")").orElse("");
        if (code.equals("RepoNotFound") || (status == 404 && file == null && !code.equals("RevisionNotFound"))) {
            // the hub answers 401 rather than 404 for unknown repos when no token is sent
            return new HubException("repository or revision not found: " + what + " at " + endpoint
                    + (status == 401 && token == null ? "; if it is private or gated, set HF_TOKEN to an access token" : ""),
                    status, null);
        }
        return switch (status) {
            case 401, 403 -> new HubException("access to " + what + " was refused (HTTP " + status + "): the model may be gated "
                    + "or private; accept its terms on the hub page and "
                    + (token == null ? "set HF_TOKEN to an access token" : "check that HF_TOKEN has access to it") + hubSays,
                    status, null);
            case 404 -> new HubException(code.equals("RevisionNotFound")
                    ? "revision not found: " + rev + " in " + repo + " at " + endpoint
                    : "file not found: " + file + " in " + what, status, null);
            default -> new HubException("hub request failed with HTTP " + status + " for " + what
                    + (file != null ? " (" + file + ")" : "") + hubSays, status, null);
        };
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m);
    }

    // ---- helpers --------------------------------------------------------------------------------

    static String revisionOrMain(String revision) {
        return revision == null || revision.isBlank() ? "main" : revision;
    }

    /** Strips the weak marker and quotes: {@code W/"abc"} -> {@code abc}. */
    static String normalizeEtag(String etag) {
        if (etag == null) {
            return null;
        }
        String e = etag.strip();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        return e.replace("\"", "");
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String encodePath(String path) {
        return String.join("/", java.util.Arrays.stream(path.split("/")).map(HubClient::encode).toList());
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) >= 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String stripSlashes(String s) {
        String e = s.strip();
        while (e.endsWith("/")) {
            e = e.substring(0, e.length() - 1);
        }
        return e;
    }

    private static String nonBlank(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v.strip();
            }
        }
        return null;
    }

    static boolean isTrue(String v) {
        return v != null && switch (v.strip().toUpperCase(Locale.ROOT)) {
            case "1", "ON", "YES", "TRUE" -> true;
            default -> false;
        };
    }

    private static Path expandUser(String p) {
        return p.equals("~") || p.startsWith("~/") ? Path.of(System.getProperty("user.home") + p.substring(1)) : Path.of(p);
    }

    /** {@code $HF_HOME}, else {@code $XDG_CACHE_HOME/huggingface}, else {@code ~/.cache/huggingface}, as in Python. */
    private static Path hfHome(Map<String, String> env) {
        String home = nonBlank(env.get("HF_HOME"));
        if (home != null) {
            return expandUser(home);
        }
        String xdg = nonBlank(env.get("XDG_CACHE_HOME"));
        return (xdg != null ? expandUser(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("huggingface");
    }

    private static String tokenFrom(Map<String, String> env, Path hfHome) {
        String t = nonBlank(env.get("HF_TOKEN"), env.get("HUGGING_FACE_HUB_TOKEN"));
        if (t != null) {
            return t;
        }
        String tokenPath = nonBlank(env.get("HF_TOKEN_PATH"));
        Path file = tokenPath != null ? expandUser(tokenPath) : hfHome.resolve("token");
        try {
            return Files.isRegularFile(file) ? nonBlank(Files.readString(file, StandardCharsets.UTF_8)) : null;
        } catch (IOException e) {
            throw new HubException("cannot read the hub token file " + file + ": " + e, e);
        }
    }

    /** isatty(2): on Linux /proc tells where stderr goes; elsewhere fall back to the console. */
    private static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            var console = System.console();
            return console != null && console.isTerminal();
        }
    }

    /**
     * Options of a {@link HubClient}; those not set come from the environment.
     *
     * <pre>{@code
     * HubClient hub = HubClient.builder().cacheDir(Path.of("/data/hf")).offline(true).build();
     * }</pre>
     */
    public static final class Builder {
        private Map<String, String> env;
        private String endpoint;
        private Path cacheDir;
        private String token;
        private Boolean offline;
        private Boolean progress;
        private PrintStream progressOut;
        private Duration timeout;
        private int maxAttempts = 5;
        private Duration backoff = Duration.ofMillis(500);

        private Builder() {}

        /** Reads the {@code HF_*} variables from this map instead of the process environment. */
        public Builder environment(Map<String, String> env) {
            this.env = Map.copyOf(env);
            return this;
        }

        /** The hub URL (default {@code $HF_ENDPOINT}, else {@value HubClient#DEFAULT_ENDPOINT}). */
        public Builder endpoint(String endpoint) {
            this.endpoint = endpoint;
            return this;
        }

        /** The cache folder (default {@code $HF_HUB_CACHE}, else {@code $HF_HOME/hub}). */
        public Builder cacheDir(Path cacheDir) {
            this.cacheDir = cacheDir;
            return this;
        }

        /** The access token for gated and private models (default {@code $HF_TOKEN}, else the token file). */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /** Cache only, no network (default {@code $HF_HUB_OFFLINE}). */
        public Builder offline(boolean offline) {
            this.offline = offline;
            return this;
        }

        /** Progress bars on stderr for big files (default: when stderr is a terminal). */
        public Builder progress(boolean progress) {
            this.progress = progress;
            return this;
        }

        /** Connect timeout, and how long a response or a stalled download may wait (default 30 s). */
        public Builder timeout(Duration timeout) {
            if (!timeout.isPositive()) {
                throw new IllegalArgumentException("timeout must be positive");
            }
            this.timeout = timeout;
            return this;
        }

        /** Tries per request or download on transient failures (default 5). */
        public Builder maxAttempts(int maxAttempts) {
            if (maxAttempts < 1) {
                throw new IllegalArgumentException("maxAttempts must be >= 1");
            }
            this.maxAttempts = maxAttempts;
            return this;
        }

        Builder backoff(Duration backoff) {
            this.backoff = backoff;
            return this;
        }

        Builder progressOut(PrintStream out) {
            this.progressOut = out;
            return this;
        }

        /** A client with these options; unset ones from the environment. */
        public HubClient build() {
            return new HubClient(this, env != null ? env : System.getenv());
        }
    }
}
