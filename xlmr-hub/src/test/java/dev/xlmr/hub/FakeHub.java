package dev.xlmr.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * A local stand-in for huggingface.co serving fixture folders as repositories, with the headers the
 * real hub sends: ETag (git blob sha1), X-Repo-Commit, and for LFS files X-Linked-Etag (sha256) +
 * X-Linked-Size and a 302 to a "CDN" under another host name (localhost vs 127.0.0.1) with Range support.
 */
final class FakeHub implements AutoCloseable {
    /** One request as the server saw it. */
    record Request(String method, String path, String host, String authorization, String range) {
        boolean cdn() {
            return path.startsWith("/cdn/");
        }
    }

    private record Commit(String repo, Map<String, byte[]> files) {}

    private final HttpServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(4);
    private final Map<String, Map<String, String>> refs = new ConcurrentHashMap<>(); // repo -> revision -> commit
    private final Map<String, Commit> commits = new ConcurrentHashMap<>();
    private final Map<String, byte[]> lfsBySha = new ConcurrentHashMap<>();
    final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
    final AtomicLong cdnBytesSent = new AtomicLong();
    /** When set, hub requests need {@code Authorization: Bearer <token>} (a gated repo). */
    volatile String requiredToken;
    /** Answer ranged CDN requests with the whole file (200), as some servers do. */
    volatile boolean ignoreRange;
    /** Serve this LFS file with one byte changed (the headers keep the true sha256). */
    volatile String corruptFile;
    /** Cut the next CDN response off after this many bytes (-1: off). */
    final AtomicLong dropAfter = new AtomicLong(-1);
    /** Stop sending the next CDN response after this many bytes, keeping the connection open (-1: off). */
    final AtomicLong stallAfter = new AtomicLong(-1);
    /** Answer the next this many requests with 503. */
    final AtomicInteger fail503 = new AtomicInteger();

    FakeHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(executor);
        server.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    static Path testdata(String name) {
        return Path.of(System.getProperty("xlmr.testdata", "../testdata")).resolve(name);
    }

    /** Serves the folder as a commit of the repository; revisions (e.g. "main") point to it. */
    String addCommit(String repo, Path folder, String... revisions) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(folder)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                String name = folder.relativize(p).toString().replace('\\', '/');
                if (!name.equals("expected.json")) {
                    files.put(name, Files.readAllBytes(p));
                }
            }
        }
        String sha = hex("SHA-1", (repo + folder.toAbsolutePath() + commits.size()).getBytes(StandardCharsets.UTF_8));
        commits.put(sha, new Commit(repo, files));
        files.forEach((name, content) -> {
            if (isLfs(name)) {
                lfsBySha.put(hex("SHA-256", content), content);
            }
        });
        Map<String, String> repoRefs = refs.computeIfAbsent(repo, r -> new ConcurrentHashMap<>());
        for (String rev : revisions) {
            repoRefs.put(rev, sha);
        }
        return sha;
    }

    static boolean isLfs(String name) {
        return name.endsWith(".safetensors") || name.endsWith(".bin") || name.endsWith(".model");
    }

    /** The blob name the hub gives a file: sha256 for LFS files, the git blob sha1 otherwise. */
    static String etagOf(String name, byte[] content) {
        if (isLfs(name)) {
            return hex("SHA-256", content);
        }
        byte[] header = ("blob " + content.length + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[header.length + content.length];
        System.arraycopy(header, 0, all, 0, header.length);
        System.arraycopy(content, 0, all, header.length, content.length);
        return hex("SHA-1", all);
    }

    static String hex(String algorithm, byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    List<Request> hubRequests() {
        synchronized (requests) {
            return requests.stream().filter(r -> !r.cdn()).toList();
        }
    }

    List<Request> cdnRequests() {
        synchronized (requests) {
            return requests.stream().filter(Request::cdn).toList();
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            var h = ex.getRequestHeaders();
            requests.add(new Request(ex.getRequestMethod(), URLDecoder.decode(path, StandardCharsets.UTF_8),
                    h.getFirst("Host"), h.getFirst("Authorization"), h.getFirst("Range")));
            if (fail503.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                send(ex, 503, null, new byte[0]);
                return;
            }
            if (path.startsWith("/cdn/")) {
                cdn(ex, path.substring(5));
                return;
            }
            if (requiredToken != null && !("Bearer " + requiredToken).equals(h.getFirst("Authorization"))) {
                send(ex, 401, "GatedRepo", "{\"error\":\"Access to model is restricted\"}".getBytes(StandardCharsets.UTF_8));
                return;
            }
            if (path.startsWith("/api/models/")) {
                api(ex, path.substring("/api/models/".length()));
            } else {
                resolve(ex, path.substring(1));
            }
        } catch (RuntimeException e) {
            e.printStackTrace();
            throw e;
        }
    }

    /** {org}/{name}/revision/{rev} */
    private void api(HttpExchange ex, String rest) throws IOException {
        int i = rest.indexOf("/revision/");
        if (i < 0) {
            send(ex, 404, null, new byte[0]);
            return;
        }
        String repo = rest.substring(0, i);
        String rev = URLDecoder.decode(rest.substring(i + "/revision/".length()), StandardCharsets.UTF_8);
        Commit c = lookup(ex, repo, rev);
        if (c == null) {
            return;
        }
        StringBuilder json = new StringBuilder("{\"id\":\"" + repo + "\",\"sha\":\"" + commitOf(repo, rev) + "\",\"siblings\":[");
        String sep = "";
        for (String f : c.files().keySet()) {
            json.append(sep).append("{\"rfilename\":\"").append(f).append("\"}");
            sep = ",";
        }
        json.append("]}");
        ex.getResponseHeaders().set("Content-Type", "application/json");
        send(ex, 200, null, json.toString().getBytes(StandardCharsets.UTF_8));
    }

    private String commitOf(String repo, String rev) {
        return commits.containsKey(rev) ? rev : refs.getOrDefault(repo, Map.of()).get(rev);
    }

    private Commit lookup(HttpExchange ex, String repo, String rev) throws IOException {
        if (!refs.containsKey(repo)) {
            // like huggingface.co: 401 without a token, so as not to tell private repos from missing ones
            boolean anonymous = ex.getRequestHeaders().getFirst("Authorization") == null;
            ex.getResponseHeaders().set("X-Error-Message", "Repository not found");
            send(ex, anonymous ? 401 : 404, "RepoNotFound", new byte[0]);
            return null;
        }
        String sha = commitOf(repo, rev);
        Commit c = sha == null ? null : commits.get(sha);
        if (c == null || !c.repo().equals(repo)) {
            send(ex, 404, "RevisionNotFound", new byte[0]);
            return null;
        }
        return c;
    }

    /** {org}/{name}/resolve/{rev}/{file} */
    private void resolve(HttpExchange ex, String rest) throws IOException {
        String[] parts = rest.split("/", 5);
        if (parts.length < 5 || !parts[2].equals("resolve")) {
            send(ex, 404, null, new byte[0]);
            return;
        }
        String repo = parts[0] + "/" + parts[1];
        String rev = URLDecoder.decode(parts[3], StandardCharsets.UTF_8);
        String file = URLDecoder.decode(parts[4], StandardCharsets.UTF_8);
        Commit c = lookup(ex, repo, rev);
        if (c == null) {
            return;
        }
        byte[] content = c.files().get(file);
        if (content == null) {
            send(ex, 404, "EntryNotFound", new byte[0]);
            return;
        }
        var out = ex.getResponseHeaders();
        out.set("X-Repo-Commit", commitOf(repo, rev));
        if (isLfs(file)) {
            String sha = etagOf(file, content);
            out.set("ETag", "\"" + sha + "\"");
            out.set("X-Linked-Etag", "\"" + sha + "\"");
            out.set("X-Linked-Size", Long.toString(content.length));
            // the real hub redirects LFS files to a CDN on another host
            out.set("Location", "http://localhost:" + server.getAddress().getPort() + "/cdn/" + sha + "?sig=abc");
            send(ex, 302, null, new byte[0]);
        } else {
            out.set("ETag", "W/\"" + etagOf(file, content) + "\"");
            send(ex, 200, null, content);
        }
    }

    private void cdn(HttpExchange ex, String sha) throws IOException {
        byte[] content = lfsBySha.get(sha);
        if (content == null) {
            send(ex, 404, null, new byte[0]);
            return;
        }
        if (corruptFile != null && hex("SHA-256", content).equals(sha) && isCorrupt(sha)) {
            content = content.clone();
            content[content.length / 2] ^= 1;
        }
        String range = ex.getRequestHeaders().getFirst("Range");
        long start = 0;
        int status = 200;
        if (range != null && !ignoreRange) {
            start = Long.parseLong(range.substring("bytes=".length(), range.indexOf('-')));
            if (start >= content.length) {
                ex.getResponseHeaders().set("Content-Range", "bytes */" + content.length);
                send(ex, 416, null, new byte[0]);
                return;
            }
            status = 206;
            ex.getResponseHeaders().set("Content-Range", "bytes " + start + "-" + (content.length - 1) + "/" + content.length);
        }
        ex.getResponseHeaders().set("Accept-Ranges", "bytes");
        byte[] body = java.util.Arrays.copyOfRange(content, (int) start, content.length);
        long drop = dropAfter.getAndSet(-1);
        if (drop >= 0 && !ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, body.length);
            OutputStream os = ex.getResponseBody();
            os.write(body, 0, (int) drop);
            os.flush();
            cdnBytesSent.addAndGet(drop);
            throw new IOException("dropping the connection on purpose");
        }
        long stall = stallAfter.getAndSet(-1);
        if (stall >= 0 && !ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, body.length);
            OutputStream os = ex.getResponseBody();
            os.write(body, 0, (int) stall);
            os.flush();
            cdnBytesSent.addAndGet(stall);
            try {
                Thread.sleep(10_000); // a stalled CDN: the client must give up on its own
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new IOException("stalled on purpose");
        }
        cdnBytesSent.addAndGet(ex.getRequestMethod().equals("HEAD") ? 0 : body.length);
        send(ex, status, null, body);
    }

    private boolean isCorrupt(String sha) {
        for (Commit c : commits.values()) {
            byte[] content = c.files().get(corruptFile);
            if (content != null && hex("SHA-256", content).equals(sha)) {
                return true;
            }
        }
        return false;
    }

    private static void send(HttpExchange ex, int status, String errorCode, byte[] body) throws IOException {
        if (errorCode != null) {
            ex.getResponseHeaders().set("X-Error-Code", errorCode);
        }
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().set("Content-Length", Long.toString(body.length));
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
