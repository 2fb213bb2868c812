package dev.xlmr.server;

import static dev.xlmr.server.TestSupport.postForm;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import dev.xlmr.nova.Annotations;
import dev.xlmr.nova.FileType;
import dev.xlmr.nova.FreeAnnotation;
import dev.xlmr.nova.SsiStream;
import dev.xlmr.server.TestSupport.Answer;
import java.io.ByteArrayOutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.bson.Document;
import org.bson.types.ObjectId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server driven as the NOVA tool drives it: multipart /process with camelCase fields, db: input and
 * output in a NOVA MongoDB (an in-process wire-protocol server seeded with NOVA's collections), sessions;
 * and the failures that must end a job: a link out of the data folder, a session too large for memory, an
 * Error in the job.
 */
class NovaToolTest {
    static final String DATASET = "nova_ds";

    @TempDir
    static Path tmp;
    static Path data;
    static MongoServer mongo;
    static InetSocketAddress mongoAt;
    static MongoClient client;
    static LocalInferenceService service;
    static XlmrServer server;
    static URI base;

    @BeforeAll
    static void start() throws Exception {
        data = Files.createDirectories(tmp.resolve("data"));
        mongo = new MongoServer(new MemoryBackend());
        mongoAt = mongo.bind();
        client = MongoClients.create("mongodb://127.0.0.1:" + mongoAt.getPort());
        seed(client.getDatabase(DATASET));
        service = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base", 0);
        server = XlmrServer.start(service, ServerOptions.defaults().port(0).novaRoot(data));
        base = server.uri();
        // the same transcript as a file, for the seed request
        Files.createDirectories(data.resolve("files"));
        Annotations.write(NovaRoutesTest.transcript(), data.resolve("files/transcript.annotation"), FileType.ASCII);
    }

    @AfterAll
    static void stop() {
        server.close();
        service.close();
        client.close();
        mongo.shutdown();
    }

    /**
     * NOVA's collections as nova_db_handler reads them: s1 has no duration (D from the transcript, 3.5 s),
     * s2 lasts 5 s; s3 exists but has no transcript.
     */
    static void seed(MongoDatabase db) {
        ObjectId scheme = new ObjectId(), annotator = new ObjectId(), role = new ObjectId();
        db.getCollection("Schemes").insertOne(new Document("_id", scheme).append("name", "transcript").append("type", "FREE")
                .append("isValid", true));
        db.getCollection("Annotators").insertOne(new Document("_id", annotator).append("name", "gold"));
        db.getCollection("Roles").insertOne(new Document("_id", role).append("name", "speaker"));
        double[] durations = {0, 5.0, 10.0};
        String[] names = {"s1", "s2", "s3"};
        for (int i = 0; i < 3; i++) {
            ObjectId session = new ObjectId();
            db.getCollection("Sessions").insertOne(new Document("_id", session).append("name", names[i])
                    .append("duration", durations[i]).append("location", "").append("language", "en").append("isValid", true));
            if (i == 2) continue;
            ObjectId labels = new ObjectId();
            db.getCollection("AnnotationData").insertOne(new Document("_id", labels).append("labels", List.of(
                    new Document("from", 0.5).append("to", 1.25).append("name", "hello world").append("conf", 1.0),
                    new Document("from", 1.30).append("to", 2.0).append("name", "how are you").append("conf", 0.9),
                    new Document("from", 3.0).append("to", 3.5).append("name", "bye").append("conf", 1.0))));
            db.getCollection("Annotations").insertOne(new Document("session_id", session).append("annotator_id", annotator)
                    .append("role_id", role).append("scheme_id", scheme).append("data_id", labels)
                    .append("isFinished", true).append("isLocked", false));
        }
    }

    /** A multipart/form-data body of string fields, as .NET's MultipartFormDataContent of StringContent sends it. */
    static Answer postMultipart(URI base, String path, Map<String, String> fields) throws Exception {
        return postMultipart(TestSupport.HTTP, base, path, fields);
    }

    static Answer postMultipart(HttpClient http, URI base, String path, Map<String, String> fields) throws Exception {
        String boundary = "c0ffee-" + Long.toHexString(System.nanoTime());
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (Map.Entry<String, String> f : fields.entrySet()) {
            body.write(("--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name="
                    + f.getKey() + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            body.write(f.getValue().getBytes(StandardCharsets.UTF_8));
            body.write("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        body.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return send(http, HttpRequest.newBuilder(base.resolve(path))
                .header("Content-Type", "multipart/form-data; boundary=\"" + boundary + "\"")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build());
    }

    static Answer send(HttpClient http, HttpRequest r) throws Exception {
        HttpResponse<String> res = http.send(r, HttpResponse.BodyHandlers.ofString());
        return new Answer(res.statusCode(), res.body(), res);
    }

    /** An url-encoded form through that client. */
    static Answer postFormVia(HttpClient http, URI base, String path, Map<String, String> form) throws Exception {
        String body = form.entrySet().stream().map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8)).collect(Collectors.joining("&"));
        return send(http, HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    /** What DatabaseNovaServerWindow.handlePythonBackend posts for the xlm_roberta processor. */
    static Map<String, String> novaRequest(String job, String sessions) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("jobID", job);
        f.put("trainerFilePath", "\\xlm_roberta\\xlm_roberta.trainer"); // NOVA's path less its CML folder
        f.put("dbHost", "127.0.0.1");
        f.put("dbPort", Integer.toString(mongoAt.getPort()));
        f.put("dbUser", "nova");
        f.put("dbPassword", "secret");
        f.put("leftContext", "960ms");
        f.put("rightContext", "0ms");
        f.put("frameSize", "40ms");
        f.put("data", "[{\"id\":\"transcript\",\"type\":\"input\",\"src\":\"db:annotation:Free\",\"scheme\":\"transcript\","
                + "\"annotator\":\"gold\",\"role\":\"speaker\",\"active\":true},"
                + "{\"id\":\"embeddings\",\"type\":\"output\",\"kind\":\"SSIStream\",\"src\":\"db:stream:SSIStream\",\"name\":\"xlmr\","
                + "\"role\":\"speaker\",\"active\":true},"
                + "{\"id\":\"embeddings\",\"type\":\"output\",\"src\":\"file:stream:SSIStream\",\"uri\":\"never.stream\",\"active\":false}]");
        f.put("options", "{\"batch_size\":\"16\"}");
        f.put("force", "False");
        f.put("sessions", sessions);
        f.put("dataset", DATASET);
        return f;
    }

    static int await(String job) throws Exception {
        for (int i = 0; i < 1500; i++) {
            int s = postForm(base, "/job_status", Map.of("jobID", job)).json().get("status").asInt();
            if (s >= 2) return s;
            Thread.sleep(20);
        }
        throw new AssertionError("job " + job + " did not end");
    }

    static JsonNode listed(URI base, String job) throws Exception {
        for (JsonNode j : TestSupport.get(base, "/job_status_all").json()) if (j.get("job_key").asText().equals(job)) return j;
        throw new AssertionError("no job " + job + " in /job_status_all");
    }

    static String log(URI base, String job) throws Exception {
        return postForm(base, "/log", Map.of("jobID", job)).json().get("message").asText();
    }

    static float[] frame(SsiStream s, int k) {
        return Arrays.copyOfRange(s.toFloats(), k * s.dim(), (k + 1) * s.dim());
    }

    @Test
    void whatTheNovaToolPostsWritesStreamsAndStreamsDocuments() throws Exception {
        Answer a = postMultipart(base, "/process", novaRequest("nova-two", "[\"s1\",\"s2\"]"));
        assertEquals(200, a.status(), a.body());
        assertEquals("True", a.json().get("success").asText());
        assertEquals(2, await("nova-two"), log(base, "nova-two"));
        JsonNode job = listed(base, "nova-two");
        assertEquals("FINISHED", job.get("status").asText());
        assertEquals("2/2", job.get("progress").asText());
        assertEquals("du-process", job.get("job_type").asText());
        assertEquals("xlm_roberta", job.get("module_name").asText());
        assertFalse(job.get("was_canceled").asBoolean());
        assertTrue(job.get("details").asText().contains("'dbPassword': '*****'"), job.get("details").asText());
        String log = log(base, "nova-two");
        assertFalse(log.contains("secret"), log);
        assertTrue(log.contains("Processing session (1/2): s1") && log.contains("Completed session (2/2): s2"), log);

        // the seed's request on the same transcript as a file: the reference stream (checked against the model in NovaRoutesTest)
        Map<String, String> seed = NovaRoutesTest.seed("nova-seed", "files/seed.stream");
        seed.put("data", NovaRoutesTest.data("files/transcript.annotation", "file:stream:SSIStream", "files/seed.stream"));
        assertEquals(200, postForm(base, "/process", seed).status());
        assertEquals(2, await("nova-seed"));
        SsiStream ref = SsiStream.read(data.resolve("files/seed.stream"));
        assertEquals(87, ref.numSamples());

        // where DISCOVER writes db: streams: DATA_DIR/<dataset>/<session>/<role>.<name>.stream
        SsiStream s1 = SsiStream.read(data.resolve(DATASET + "/s1/speaker.xlmr.stream"));
        SsiStream s2 = SsiStream.read(data.resolve(DATASET + "/s2/speaker.xlmr.stream"));
        assertArrayEquals(ref.toFloats(), s1.toFloats(), "s1: D from the transcript, as the file");
        assertEquals(25.0, s2.sampleRate());
        assertEquals(125, s2.numSamples(), "s2: D = the session's 5 s");
        for (int k = 0; k < 87; k++) assertArrayEquals(frame(ref, k), frame(s2, k), "frame " + k);
        // frames 87..111 still see "bye" (3.0-3.5 s) in their 960 ms left context; from 112 (4480 ms) the windows are empty
        for (int k = 87; k < 112; k++) assertArrayEquals(frame(ref, 86), frame(s2, k), "frame " + k);
        for (int k = 112; k < 125; k++) assertArrayEquals(frame(ref, 0), frame(s2, k), "frame " + k);
        assertFalse(Files.exists(data.resolve("never.stream")), "the inactive output is skipped");

        // one Streams document, matched by name, as StreamHandler.save writes it
        List<Document> streams = client.getDatabase(DATASET).getCollection("Streams")
                .find(new Document("name", "xlmr")).into(new ArrayList<>());
        assertEquals(1, streams.size(), streams.toString());
        Document d = streams.getFirst();
        assertEquals("xlmr", d.getString("name"));
        assertEquals("stream", d.getString("fileExt"));
        assertEquals(25.0, d.getDouble("sr"));
        assertEquals("", d.getString("type"));
        assertEquals(List.of(), d.getList("dimlabels", Object.class));
        assertEquals(true, d.getBoolean("isValid"));
    }

    /**
     * Done means: exactly what the NOVA tool posts (multipart, camelCase, db: input and output, two
     * sessions) over HTTPS with a certificate made here; the streams where DISCOVER writes them, the Streams
     * document, the final status and the progress, all read over HTTPS; plain HTTP to the port gets
     * DISCOVER's 426.
     */
    @Test
    void theNovaToolsRequestOverHttpsWithASelfSignedCertificate() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("tls"));
        TestCertificates cert = TestCertificates.make(dir);
        HttpClient https = cert.client();
        try (XlmrServer s = XlmrServer.start(service, ServerOptions.defaults().port(0).novaRoot(data).tls(cert.certPem(), cert.keyPem()))) {
            URI b = s.uri();
            assertEquals("https", b.getScheme());
            Map<String, String> f = novaRequest("nova-https", "[\"s1\",\"s2\"]");
            f.put("data", f.get("data").replace("\"name\":\"xlmr\"", "\"name\":\"xlmr-https\""));
            Answer a = postMultipart(https, b, "/process", f);
            assertEquals(200, a.status(), a.body());
            assertEquals("True", a.json().get("success").asText());
            // the seed's request over HTTPS too: the reference stream of the same transcript as a file
            Map<String, String> seed = NovaRoutesTest.seed("nova-https-seed", "files/https-seed.stream");
            seed.put("data", NovaRoutesTest.data("files/transcript.annotation", "file:stream:SSIStream", "files/https-seed.stream"));
            assertEquals("True", postFormVia(https, b, "/process", seed).json().get("success").asText());
            int status = 0;
            for (int i = 0; i < 1500 && status < 2; i++, Thread.sleep(20)) {
                status = postFormVia(https, b, "/job_status", Map.of("jobID", "nova-https-seed")).json().get("status").asInt();
            }
            assertEquals(2, postFormVia(https, b, "/job_status", Map.of("jobID", "nova-https")).json().get("status").asInt(),
                    postFormVia(https, b, "/log", Map.of("jobID", "nova-https")).body());
            assertEquals(2, status);
            JsonNode job = null;
            for (JsonNode j : send(https, HttpRequest.newBuilder(b.resolve("/job_status_all")).GET().build()).json()) {
                if (j.get("job_key").asText().equals("nova-https")) job = j;
            }
            assertTrue(job != null, "nova-https in /job_status_all");
            assertEquals("FINISHED", job.get("status").asText());
            assertEquals("2/2", job.get("progress").asText());
            assertEquals("du-process", job.get("job_type").asText());
            assertFalse(job.get("was_canceled").asBoolean());
            String log = postFormVia(https, b, "/log", Map.of("jobID", "nova-https")).json().get("message").asText();
            assertTrue(log.contains("Completed session (1/2): s1") && log.contains("Completed session (2/2): s2"), log);

            SsiStream ref = SsiStream.read(data.resolve("files/https-seed.stream"));
            assertEquals(87, ref.numSamples());
            for (String session : List.of("s1", "s2")) {
                Path stream = data.resolve(DATASET + "/" + session + "/speaker.xlmr-https.stream");
                assertTrue(Files.isRegularFile(Path.of(stream + "~")), stream + "~");
                SsiStream st = SsiStream.read(stream);
                assertEquals(25.0, st.sampleRate());
                assertEquals(session.equals("s1") ? 87 : 125, st.numSamples(), session);
                for (int k = 0; k < 87; k++) assertArrayEquals(frame(ref, k), frame(st, k), session + " frame " + k);
            }
            List<Document> streams = client.getDatabase(DATASET).getCollection("Streams")
                    .find(new Document("name", "xlmr-https")).into(new ArrayList<>());
            assertEquals(1, streams.size(), streams.toString());
            assertEquals("stream", streams.getFirst().getString("fileExt"));
            assertEquals(25.0, streams.getFirst().getDouble("sr"));
            assertEquals(true, streams.getFirst().getBoolean("isValid"));

            // plain HTTP to the HTTPS port: DISCOVER's answer, on every route
            URI plain = URI.create("http://127.0.0.1:" + s.port() + "/");
            for (Answer p : List.of(postMultipart(TestSupport.HTTP, plain, "/process", novaRequest("nova-plain", "[\"s1\"]")),
                    TestSupport.get(plain, "/job_status_all"), TestSupport.get(plain, "/health"))) {
                assertEquals(426, p.status(), p.body());
                assertEquals(Tls.PLAIN_HTTP_ANSWER, p.body());
                assertEquals("HTTPS required - plain HTTP connections are not allowed", p.body());
            }
            assertFalse(send(https, HttpRequest.newBuilder(b.resolve("/job_status_all")).GET().build()).body().contains("nova-plain"),
                    "the plain request started no job");
            // a client that does not trust the certificate gets no answer
            assertThrows(javax.net.ssl.SSLHandshakeException.class, () -> HttpClient.newHttpClient()
                    .send(HttpRequest.newBuilder(b.resolve("/health")).GET().build(), HttpResponse.BodyHandlers.ofString()));
        }
    }

    @Test
    void aFailedSessionIsLoggedAndSkippedAndTheJobEndsInError() throws Exception {
        Map<String, String> f = novaRequest("nova-fail", "[\"s3\",\"nobody\",\"s1\"]");
        f.put("data", f.get("data").replace("\"name\":\"xlmr\"", "\"name\":\"xlmr-fail\""));
        assertEquals("True", postMultipart(base, "/process", f).json().get("success").asText());
        assertEquals(3, await("nova-fail"));
        JsonNode job = listed(base, "nova-fail");
        assertEquals("ERROR", job.get("status").asText());
        assertEquals("3/3", job.get("progress").asText());
        String log = log(base, "nova-fail");
        assertTrue(log.contains("Processor exited with error: 'Annotation not found dataset: nova_ds session: s3"), log);
        assertTrue(log.contains("dataset nova_ds has no session nobody"), log);
        assertTrue(log.contains("Completed session (3/3): s1"), log);
        assertTrue(log.contains("errors for 2 of 3 sessions"), log);
        assertEquals(87, SsiStream.read(data.resolve(DATASET + "/s1/speaker.xlmr-fail.stream")).numSamples());
        assertFalse(Files.exists(data.resolve(DATASET + "/s3/speaker.xlmr-fail.stream")));
    }

    @Test
    void uriTemplatesAndSnakeCaseFieldsOverSessionsOfFiles() throws Exception {
        for (String s : List.of("a", "b")) {
            Files.createDirectories(data.resolve("tpl/" + s));
            Annotations.write(NovaRoutesTest.transcript(), data.resolve("tpl/" + s + "/t.annotation"), FileType.BINARY);
        }
        Map<String, String> f = new LinkedHashMap<>();
        f.put("job_id", "tpl");
        f.put("trainer_file_path", "modules/xlm_roberta/xlm_roberta.trainer");
        f.put("frame_size", "500ms");
        f.put("left_context", "1s");
        f.put("stride", "None");
        f.put("dataset", "tpl");
        f.put("sessions", "[\"a\",\"b\"]");
        f.put("data", "[{\"src\":\"file:annotation:free\",\"type\":\"input\",\"id\":\"transcript\",\"uri_template\":\"{dataset}/{session}/t.annotation\"},"
                + "{\"src\":\"file:stream:SSIStream\",\"type\":\"output\",\"id\":\"embeddings\",\"uri_template\":\"{dataset}/{session}/{{x}}.stream\"}]");
        assertEquals("True", postForm(base, "/process", f).json().get("success").asText());
        assertEquals(2, await("tpl"), log(base, "tpl"));
        for (String s : List.of("a", "b")) {
            SsiStream st = SsiStream.read(data.resolve("tpl/" + s + "/{x}.stream"));
            assertEquals(7, st.numSamples());
            assertEquals(2.0, st.sampleRate());
        }
        assertEquals("2/2", listed(base, "tpl").get("progress").asText());
        // a placeholder other than {dataset} and {session} fails the session with the reason
        f.put("job_id", "tpl-bad");
        f.put("data", f.get("data").replace("{{x}}", "{user}"));
        assertEquals("True", postForm(base, "/process", f).json().get("success").asText());
        assertEquals(3, await("tpl-bad"));
        assertTrue(log(base, "tpl-bad").contains("may only hold {dataset} and {session}, found {user}"), log(base, "tpl-bad"));
    }

    @Test
    void aDataFileLinkedOutOfTheDataFolderIsNotRead() throws Exception {
        Path secret = Files.writeString(tmp.resolve("secret.txt"), "0;1;TOPSECRET-CONTENT;1\n");
        Files.createDirectories(data.resolve("s"));
        Files.writeString(data.resolve("s/x.annotation"), "<annotation ssi-v=\"3\"><info ftype=\"ASCII\" size=\"1\"/>"
                + "<scheme name=\"transcript\" type=\"FREE\"/></annotation>");
        Files.createSymbolicLink(data.resolve("s/x.annotation~"), secret);
        Map<String, String> f = NovaRoutesTest.seed("link", "out/link.stream");
        f.put("data", NovaRoutesTest.data("s/x.annotation", "file:stream:SSIStream", "out/link.stream"));
        assertEquals("True", postForm(base, "/process", f).json().get("success").asText());
        assertEquals(3, await("link"));
        String log = log(base, "link");
        assertTrue(log.contains("s/x.annotation~ leads outside the data folder"), log);
        assertFalse(log.contains("TOPSECRET"), log);
        assertFalse(TestSupport.get(base, "/log/link").body().contains("TOPSECRET"));
        assertFalse(Files.exists(data.resolve("out/link.stream")));
    }

    @Test
    void aSessionTooLargeForTheMemoryLimitFailsAtOnceAndTheJobIdIsFreeAgain() throws Exception {
        Files.createDirectories(data.resolve("huge"));
        // one line spanning 640,000 s: 16,000,000 frames of 40 ms
        Annotations.write(FreeAnnotation.of("transcript", List.of(new FreeAnnotation.Label(0, 640_000, "hello", 1f))),
                data.resolve("huge/t.annotation"), FileType.ASCII);
        try (XlmrServer small = XlmrServer.start(service, ServerOptions.defaults().port(0).novaRoot(data),
                NovaOptions.defaults().maxJobBytes(256L << 20))) {
            URI b = small.uri();
            Map<String, String> f = NovaRoutesTest.seed("huge", "out/huge.stream");
            f.put("data", NovaRoutesTest.data("huge/t.annotation", "file:stream:SSIStream", "out/huge.stream"));
            long t0 = System.nanoTime();
            assertEquals("True", postForm(b, "/process", f).json().get("success").asText());
            int status = 0;
            for (int i = 0; i < 1000 && status < 2; i++, Thread.sleep(10)) {
                status = postForm(b, "/job_status", Map.of("jobID", "huge")).json().get("status").asInt();
            }
            assertEquals(3, status);
            assertTrue((System.nanoTime() - t0) / 1e9 < 10, "refused before any model work");
            String log = log(b, "huge");
            assertTrue(log.contains("16000000 frames x 32 floats = 2112.0 MB, more than the job memory limit of 268.4 MB"), log);
            assertEquals("ERROR", listed(b, "huge").get("status").asText());
            // a final state frees the job ID
            f.put("data", NovaRoutesTest.data("files/transcript.annotation", "file:stream:SSIStream", "out/huge.stream"));
            assertEquals("True", postForm(b, "/process", f).json().get("success").asText());
            for (int i = 0; i < 1000 && postForm(b, "/job_status", Map.of("jobID", "huge")).json().get("status").asInt() != 2; i++) {
                Thread.sleep(10);
            }
            assertEquals(2, postForm(b, "/job_status", Map.of("jobID", "huge")).json().get("status").asInt(), log(b, "huge"));
        }
    }

    @Test
    void anErrorInTheJobEndsItInErrorNotRunningForever() throws Exception {
        // a service whose job-thread calls throw OutOfMemoryError, as a huge allocation under a small heap does
        InferenceService failing = (InferenceService) Proxy.newProxyInstance(InferenceService.class.getClassLoader(),
                new Class<?>[] {InferenceService.class}, (proxy, m, args) -> {
                    if (m.getName().equals("info") && Thread.currentThread().getName().equals("xlmr-nova-jobs")) {
                        throw new OutOfMemoryError("Java heap space");
                    }
                    try {
                        return m.invoke(service, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        try (XlmrServer s = XlmrServer.start(failing, ServerOptions.defaults().port(0).novaRoot(data))) {
            URI b = s.uri();
            Map<String, String> f = NovaRoutesTest.seed("oom", "out/oom.stream");
            f.put("data", NovaRoutesTest.data("files/transcript.annotation", "file:stream:SSIStream", "out/oom.stream"));
            assertEquals("True", postForm(b, "/process", f).json().get("success").asText());
            int status = 0;
            for (int i = 0; i < 1000 && status < 2; i++, Thread.sleep(10)) {
                status = postForm(b, "/job_status", Map.of("jobID", "oom")).json().get("status").asInt();
            }
            assertEquals(3, status, log(b, "oom"));
            assertTrue(log(b, "oom").contains("out of memory (Java heap space)"), log(b, "oom"));
            JsonNode j = listed(b, "oom");
            assertEquals("ERROR", j.get("status").asText());
            assertFalse(j.get("end_time").asText().isEmpty());
            // the ID is free again: a new request is a new job, not a 409
            assertEquals(200, postForm(b, "/process", f).status());
        }
    }
}
