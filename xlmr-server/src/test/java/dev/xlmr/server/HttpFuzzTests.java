package dev.xlmr.server;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.xlmr.nova.Annotations;
import dev.xlmr.nova.FileType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * A coverage-guided fuzz target for the server's request parsing (issue 17): the JSON bodies of
 * {@code /embed}, {@code /v1/embeddings}, {@code /rerank}, {@code /predict}, {@code /tokenize} and the
 * other TEI routes, and the form fields of NOVA's {@code /process}, sent over a raw socket to real
 * servers on loopback (the xlmr-base fixture with a NOVA folder; the xlmr-seqcls fixture for
 * {@code /predict}, its one-label copy for {@code /rerank}). An input is a first line {@code METHOD /path}, a second line
 * (the Content-Type), then the body; a path that is no route is mapped onto one of {@link #ROUTES}.
 *
 * <p>The promise: every request is answered within 20 s with a status below 500 and a body that holds
 * no stack trace and none of the server's folders. Without {@code JAZZER_FUZZ} it runs once over the
 * seeds in {@code HttpFuzzTestsInputs/requestBody/}:
 *
 * <pre>{@code
 * JAZZER_FUZZ=1 ./mvnw -pl xlmr-server test -Dtest=HttpFuzzTests#requestBody -Djazzer.max_duration=10m
 * }</pre>
 */
class HttpFuzzTests {
    static final List<String> ROUTES = List.of("/embed", "/v1/embeddings", "/embeddings", "/rerank", "/predict",
            "/tokenize", "/decode", "/embed_all", "/embed_sparse", "/similarity", "/process", "/job_status", "/");
    private static final Set<String> METHODS = Set.of("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD");

    private static Path root;
    private static LocalInferenceService base;
    private static LocalInferenceService classifier;
    private static LocalInferenceService reranker;
    private static XlmrServer baseServer;
    private static XlmrServer classifierServer;
    private static XlmrServer rerankerServer;
    private static List<String> folders;

    @BeforeAll
    static void start() throws IOException {
        root = Files.createTempDirectory("http-fuzz").toRealPath();
        Files.createDirectories(root.resolve("session"));
        Annotations.write(NovaRoutesTest.transcript(), root.resolve("session/transcript.annotation"), FileType.ASCII);
        base = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base", 0);
        classifier = LocalInferenceService.load(TestSupport.testdata("xlmr-seqcls"), "xlmr-seqcls", 0);
        baseServer = XlmrServer.start(base, ServerOptions.defaults().port(0).novaRoot(root));
        reranker = LocalInferenceService.load(ClassifierRoutesTest.oneLabelCopy(TestSupport.testdata("xlmr-seqcls"),
                root.resolve("reranker")), "reranker", 0);
        classifierServer = XlmrServer.start(classifier, ServerOptions.defaults().port(0));
        rerankerServer = XlmrServer.start(reranker, ServerOptions.defaults().port(0));
        folders = List.of(root.toString(), TestSupport.testdata("").toAbsolutePath().normalize().toString(),
                Path.of("").toAbsolutePath().toString());
    }

    @AfterAll
    static void stop() throws IOException {
        baseServer.close();
        classifierServer.close();
        rerankerServer.close();
        reranker.close();
        base.close();
        classifier.close();
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted((a, b) -> b.compareTo(a)).toList()) Files.deleteIfExists(p);
        }
    }

    @FuzzTest(maxDuration = "30s")
    void requestBody(byte[] input) throws IOException {
        // The servers are on loopback, and NOVA's /process connects to the database its request names (dbHost,
        // from a job's thread): by design, not forgery. The policy is global and stays set (never closed), and it
        // is set at every input because Jazzer loads its bug detectors with the first input and resets them when
        // fuzzing starts after the seeds.
        BugDetectors.allowNetworkConnections();
        int nl1 = indexOf(input, 0), nl2 = nl1 < input.length ? indexOf(input, nl1 + 1) : input.length;
        String[] first = ascii(input, 0, nl1).split(" ", 2);
        String method = METHODS.contains(first[0]) ? first[0] : "POST";
        String path = first.length > 1 && ROUTES.contains(first[1]) ? first[1]
                : ROUTES.get(Math.floorMod(Arrays.hashCode(input), ROUTES.size()));
        String type = nl1 < input.length ? ascii(input, nl1 + 1, nl2) : "application/json";
        byte[] body = nl2 < input.length ? Arrays.copyOfRange(input, nl2 + 1, input.length) : new byte[0];
        URI uri = (path.equals("/predict") ? classifierServer : path.equals("/rerank") ? rerankerServer : baseServer).uri();

        String answer = exchange(uri, method, path, type, body);
        int status = Integer.parseInt(answer.substring(9, 12));
        String text = answer.substring(answer.indexOf("\r\n\r\n") + 4);
        String what = method + " " + path + " (" + type + ", " + body.length + " bytes)";
        if (status >= 500) throw new AssertionError(what + " answered " + status + ": " + cut(text));
        // an input's own text may come back quoted in a message (Jazzer learns the strings compared below and
        // puts them into inputs): only what the request as sent did not hold counts
        String sent = (type + "\n" + new String(body, StandardCharsets.UTF_8) + "\n" + new String(body, StandardCharsets.ISO_8859_1))
                .toLowerCase(Locale.ROOT);
        for (String marker : List.of("\tat ", "at dev.xlmr.", "at java.", "exception:")) {
            if (text.toLowerCase(Locale.ROOT).contains(marker) && !sent.contains(marker)) {
                throw new AssertionError(what + " answered a stack trace: " + cut(text));
            }
        }
        for (String f : folders) {
            if (text.toLowerCase(Locale.ROOT).contains(f.toLowerCase(Locale.ROOT)) && !sent.contains(f.toLowerCase(Locale.ROOT))) {
                throw new AssertionError(what + " shows the folder " + f + ": " + cut(text));
            }
        }
    }

    /** One request on its own connection (Connection: close); the whole answer as ISO-8859-1 text. */
    static String exchange(URI uri, String method, String path, String type, byte[] body) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5000);
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            String head = method + " " + path + " HTTP/1.1\r\nHost: " + uri.getHost() + "\r\nConnection: close\r\n"
                    + (type.isEmpty() ? "" : "Content-Type: " + type + "\r\n") + "Content-Length: " + body.length + "\r\n\r\n";
            out.write(head.getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) got.write(buf, 0, n);
            } catch (SocketTimeoutException e) {
                throw new AssertionError(method + " " + path + ": no complete answer within 20 s (" + got.size() + " bytes)");
            }
            String answer = got.toString(StandardCharsets.ISO_8859_1);
            if (!answer.startsWith("HTTP/1.1 ") || answer.length() < 12 || !answer.contains("\r\n\r\n")) {
                throw new AssertionError(method + " " + path + ": not an HTTP answer: " + cut(answer));
            }
            return answer;
        }
    }

    private static int indexOf(byte[] b, int from) {
        for (int i = from; i < b.length; i++) if (b[i] == '\n') return i;
        return b.length;
    }

    /** Header text: printable ASCII only (a raw CR or LF would start another header line). */
    private static String ascii(byte[] b, int from, int to) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < to && sb.length() < 200; i++) {
            if (b[i] >= 0x20 && b[i] < 0x7f) sb.append((char) b[i]);
        }
        return sb.toString().strip();
    }

    private static String cut(String s) {
        String one = s.replace("\r", "\\r").replace("\n", "\\n");
        return one.length() <= 300 ? one : one.substring(0, 300) + "...";
    }
}
