package dev.xlmr.server;

import static dev.xlmr.server.TeiRoutesTest.expectError;
import static dev.xlmr.server.TestSupport.assertClose;
import static dev.xlmr.server.TestSupport.get;
import static dev.xlmr.server.TestSupport.postForm;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.model.Batch;
import dev.xlmr.model.ModelOutput;
import dev.xlmr.model.XlmRobertaModel;
import dev.xlmr.nova.Annotations;
import dev.xlmr.nova.FileType;
import dev.xlmr.nova.FreeAnnotation;
import dev.xlmr.nova.SsiStream;
import dev.xlmr.server.TestSupport.Answer;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The NOVA/DISCOVER routes of a real server with the xlmr-base fixture, checked against the model run directly. */
class NovaRoutesTest {
    static final String TRAINER = "modules\\xlm_roberta\\xlm_roberta.trainer";

    @TempDir
    static Path root;
    static LocalInferenceService service;
    static XlmrServer server;
    static URI base;
    static XlmRobertaModel model;
    static XlmRobertaTokenizer tokenizer;

    @BeforeAll
    static void start() throws Exception {
        Files.createDirectories(root.resolve("session"));
        Annotations.write(transcript(), root.resolve("session/transcript.annotation"), FileType.ASCII);
        service = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base", 0);
        server = XlmrServer.start(service, ServerOptions.defaults().port(0).novaRoot(root));
        base = server.uri();
        model = XlmRobertaModel.load(TestSupport.testdata("xlmr-base"));
        tokenizer = XlmRobertaTokenizer.load(TestSupport.testdata("xlmr-base"));
    }

    @AfterAll
    static void stop() {
        server.close();
        service.close();
        model.close();
    }

    /** The specification's example transcript (section 1). */
    static FreeAnnotation transcript() {
        return FreeAnnotation.of("transcript", List.of(new FreeAnnotation.Label(0.5, 1.25, "hello world", 1f),
                new FreeAnnotation.Label(1.30, 2.0, "how are you", 0.9f), new FreeAnnotation.Label(3.0, 3.5, "bye", 1f)));
    }

    static String data(String input, String outSrc, String output) {
        return "[{\"src\":\"file:annotation:free\",\"type\":\"input\",\"id\":\"transcript\",\"uri\":\"" + input.replace("\\", "\\\\")
                + "\"},{\"src\":\"" + outSrc + "\",\"type\":\"output\",\"id\":\"embeddings\",\"uri\":\"" + output.replace("\\", "\\\\") + "\"}]";
    }

    /** The seed request of the spec: 40 ms frames, 960 ms left context. */
    static Map<String, String> seed(String job, String output) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("jobID", job);
        f.put("trainerFilePath", TRAINER);
        f.put("data", data("session\\transcript.annotation", "file:stream:SSIStream", output));
        f.put("frame_size", "40ms");
        f.put("left_context", "960ms");
        f.put("unknownField", "ignored");
        return f;
    }

    static int awaitDone(String job) throws Exception {
        for (int i = 0; i < 500; i++) {
            int s = postForm(base, "/job_status", Map.of("jobID", job)).json().get("status").asInt();
            if (s >= 2) return s;
            Thread.sleep(20);
        }
        throw new AssertionError("job " + job + " did not finish");
    }

    /** The model run directly: pooler output, or mean of the hidden states over a text padded to padTo. */
    static float[] direct(String text, boolean pooler, int padTo) {
        Encoding e = tokenizer.encode(text);
        int len = Math.max(padTo, e.length());
        int[] ids = new int[len], mask = new int[len];
        Arrays.fill(ids, tokenizer.padId());
        System.arraycopy(e.ids(), 0, ids, 0, e.length());
        Arrays.fill(mask, 0, e.length(), 1);
        ModelOutput out = model.forward(Batch.of(new int[][] {ids}, new int[][] {mask}, null));
        if (pooler) return out.get("pooler_output").data();
        float[] h = out.get("last_hidden_state").data();
        int d = h.length / len;
        float[] mean = new float[d];
        for (int t = 0; t < len; t++) for (int k = 0; k < d; k++) mean[k] += h[t * d + k] / len;
        return mean;
    }

    static float[] frame(SsiStream s, int k) {
        return Arrays.copyOfRange(s.toFloats(), k * s.dim(), (k + 1) * s.dim());
    }

    @Test
    void theSeedRequestWritesTheStreamOfPoolerOutputs() throws Exception {
        Answer a = postForm(base, "/process", seed("seed", "session\\xlm_roberta.stream"));
        assertEquals(200, a.status(), a.body());
        assertEquals("True", a.json().get("success").asText());
        assertEquals(2, awaitDone("seed"));
        SsiStream s = SsiStream.read(root.resolve("session/xlm_roberta.stream"));
        assertEquals(87, s.numSamples());
        assertEquals(32, s.dim());
        assertEquals(25.0, s.sampleRate());
        assertEquals(3.48, s.chunks().getFirst().to(), 1e-9);
        assertTrue(Files.readString(root.resolve("session/xlm_roberta.stream")).contains("to=\"3.480\""));
        assertClose(direct("", true, 0), frame(s, 0), 1e-5, "frame 0 (empty window)");
        assertClose(direct("", true, 0), frame(s, 11), 1e-5, "frame 11");
        assertClose(direct("hello world", true, 0), frame(s, 12), 1e-5, "frame 12");
        assertClose(direct("hello worldhow are you", true, 0), frame(s, 32), 1e-5, "frame 32");
        assertClose(direct("bye", true, 0), frame(s, 86), 1e-5, "frame 86");
        JsonNode all = get(base, "/job_status_all").json();
        JsonNode job = null;
        for (JsonNode j : all) if (j.get("job_key").asText().equals("seed")) job = j;
        assertEquals("FINISHED", job.get("status").asText());
        assertEquals("modules", job.get("module_name").asText());
        assertEquals("du-process", job.get("job_type").asText());
        assertEquals("1/1", job.get("progress").asText()); // sessions: the request names none, DISCOVER's dummy_session
        assertFalse(job.get("was_canceled").asBoolean());
        assertFalse(job.get("end_time").asText().isEmpty());
        assertTrue(job.get("details").asText().contains("'frame_size': '40ms'"), job.get("details").asText());
        String log = postForm(base, "/log", Map.of("jobID", "seed")).json().get("message").asText();
        assertTrue(log.contains("wrote 87 frames x 32"), log);
        Answer text = get(base, "/log/seed");
        assertEquals(log, text.body());
        assertTrue(text.header("content-type").startsWith("text/plain"));
    }

    @Test
    void meanAndCompatPoolings() throws Exception {
        Map<String, String> mean = seed("mean", "out/mean.stream");
        mean.put("optStr", "pooling=mean");
        assertEquals(200, postForm(base, "/process", mean).status());
        assertEquals(2, awaitDone("mean"));
        SsiStream m = SsiStream.read(root.resolve("out/mean.stream"));
        assertClose(direct("hello world", false, 0), frame(m, 12), 1e-5, "mean frame 12");

        // batch_size 50: the original pools frames 0..50 with the pooler and averages 51..86 over their padded batch
        Map<String, String> compat = seed("compat", "out/compat.stream");
        compat.put("options", "{\"batch_size\": \"50\", \"pooling\": \"compat\"}");
        assertEquals(200, postForm(base, "/process", compat).status());
        assertEquals(2, awaitDone("compat"));
        SsiStream c = SsiStream.read(root.resolve("out/compat.stream"));
        int longest = 0;
        for (String t : List.of("hello worldhow are you", "how are you", "how are youbye", "bye")) {
            longest = Math.max(longest, tokenizer.encode(t).length());
        }
        assertClose(direct("hello worldhow are you", true, 0), frame(c, 50), 1e-5, "compat frame 50 (pooler)");
        assertClose(direct("hello worldhow are you", false, longest), frame(c, 51), 1e-5, "compat frame 51 (padded mean)");
        assertClose(direct("bye", false, longest), frame(c, 86), 1e-5, "compat frame 86 (padded mean)");
    }

    @Test
    void requestOutputsComeBackFromFetchResultAsAZip() throws Exception {
        Map<String, String> f = seed("fetch", "embeddings");
        f.put("data", data("session/transcript.annotation", "request:stream:SSIStream", "embeddings"));
        assertEquals(200, postForm(base, "/process", f).status());
        assertEquals(2, awaitDone("fetch"));
        HttpRequest r = HttpRequest.newBuilder(base.resolve("/fetch_result"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("jobID=fetch")).build();
        byte[] zip = TestSupport.HTTP.send(r, java.net.http.HttpResponse.BodyHandlers.ofByteArray()).body();
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipInputStream z = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e; (e = z.getNextEntry()) != null; ) {
                assertEquals(ZipEntry.STORED, e.getMethod(), "DISCOVER writes its zip with ZIP_STORED: " + e.getName());
                entries.put(e.getName(), z.readAllBytes());
            }
        }
        // DISCOVER's layout: <job>/<dataset>/<session>/<name>, with its dummy dataset and session
        String dir = "fetch/dummy_dataset/dummy_session/";
        assertEquals(List.of(dir + "embeddings.stream", dir + "embeddings.stream~"), new ArrayList<>(entries.keySet()));
        assertEquals(87 * 32 * 4, entries.get(dir + "embeddings.stream~").length);
        // delete_after_download: the folder goes once the answer is sent
        HttpRequest once = HttpRequest.newBuilder(base.resolve("/fetch_result"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("jobID=fetch&delete_after_download=true")).build();
        assertEquals(zip.length, TestSupport.HTTP.send(once, java.net.http.HttpResponse.BodyHandlers.ofByteArray()).body().length);
        int status = 200;
        for (int i = 0; i < 100 && status == 200; i++) {
            status = postForm(base, "/fetch_result", Map.of("jobID", "fetch")).status();
            Thread.sleep(10);
        }
        assertEquals(404, status);
        expectError(postForm(base, "/fetch_result", Map.of("jobID", "seed")), 404, "NotFound");
        expectError(postForm(base, "/fetch_result", Map.of("jobID", "nobody")), 404, "NotFound");
    }

    @Test
    void uploadedFilesCanBeProcessed() throws Exception {
        Path tmp = Files.createTempDirectory("upload-src");
        Annotations.write(transcript(), tmp.resolve("t.annotation"), FileType.BINARY);
        String boundary = "----xlmrtest";
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (String name : List.of("t.annotation", "t.annotation~")) {
            body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + name
                    + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            body.write(Files.readAllBytes(tmp.resolve(name)));
            body.write("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        body.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        Answer up = TestSupport.send(HttpRequest.newBuilder(base.resolve("/upload"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build());
        assertEquals(200, up.status(), up.body());
        String[] paths = up.body().split("\n");
        assertEquals(2, paths.length);
        // DISCOVER's naming: six random lower-case letters and the client name's last dot part; the pair keeps one stem
        assertTrue(paths[0].matches("upload/[a-z]{6}\\.annotation"), paths[0]);
        assertEquals(paths[0] + "~", paths[1]);
        assertArrayEquals(Files.readAllBytes(tmp.resolve("t.annotation~")), Files.readAllBytes(root.resolve(paths[1])));
        Map<String, String> f = seed("uploaded", "out/uploaded.stream");
        f.put("data", data(paths[0], "file:stream:SSIStream", "out/uploaded.stream"));
        assertEquals(200, postForm(base, "/process", f).status());
        assertEquals(2, awaitDone("uploaded"));
        assertEquals(87, SsiStream.read(root.resolve("out/uploaded.stream")).numSamples());
        // a name without a dot keeps it all as its extension (Python's "README".split('.')[-1]); folders are dropped
        assertTrue(upload(boundary, "some/dir/README", "x").body().matches("upload/[a-z]{6}\\.README"));
        // a 300-character name: a clear 400 that shows no server folder, and nothing saved
        Answer tooLong = upload(boundary, "a".repeat(290) + ".annotation", "x");
        expectError(tooLong, 400, "Validation");
        assertTrue(tooLong.json().get("error").asText().contains("has 301 bytes; at most 255"), tooLong.body());
        assertFalse(tooLong.body().contains(root.toString()) || tooLong.body().contains("/tmp"), tooLong.body());
        // two files of one extension in one upload would take one name
        String twice = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nx\r\n--" + boundary
                + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.wav\"\r\n\r\ny\r\n--" + boundary + "--\r\n";
        expectError(TestSupport.post(base, "/upload", "multipart/form-data; boundary=" + boundary, twice), 400, "Validation");
        String evil = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"..\"\r\n\r\nx\r\n--" + boundary + "--\r\n";
        expectError(TestSupport.post(base, "/upload", "multipart/form-data; boundary=" + boundary, evil), 400, "Validation");
        expectError(TestSupport.postJson(base, "/upload", Map.of("file", "x")), 415, "Validation");
    }

    static Answer upload(String boundary, String fileName, String content) throws Exception {
        String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + fileName
                + "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + content + "\r\n--" + boundary + "--\r\n";
        return TestSupport.post(base, "/upload", "multipart/form-data; boundary=" + boundary, body);
    }

    @Test
    void cmlInfoListsTheBuiltInAndTheFolder() throws Exception {
        Path other = root.resolve("modules/other/other.trainer");
        Files.createDirectories(other.getParent());
        Files.writeString(other, "<trainer ssi-v=\"5\"><meta frameStep=\"1s\"><io type=\"input\" id=\"audio\" data=\"stream:Audio\"/>"
                + "<io type=\"output\" id=\"x\" data=\"annotation:Discrete\"/></meta><model create=\"Other\" script=\"other.py\"/></trainer>");
        Files.writeString(root.resolve("modules/broken.trainer"), "<trainer");
        JsonNode all = postForm(base, "/cml_info", Map.of()).json();
        JsonNode xlmr = TestSupport.JSON.readTree(all.get("trainer_ok").get("modules/xlm_roberta/xlm_roberta.trainer").asText());
        assertEquals("XLMRoBERTa", xlmr.get("model_create").asText());
        assertEquals("500ms", xlmr.get("meta_frame_step").asText());
        assertTrue(xlmr.get("meta_io").asText().contains("\"id\":\"transcript\""));
        assertTrue(all.get("trainer_ok").has("modules/other/other.trainer"));
        assertTrue(all.get("trainer_faulty").has("modules/broken.trainer"));
        JsonNode text = postForm(base, "/cml_info", Map.of("input_filter", "[\"annotation:Free\"]")).json();
        assertTrue(text.get("trainer_ok").has("modules/xlm_roberta/xlm_roberta.trainer"));
        assertFalse(text.get("trainer_ok").has("modules/other/other.trainer"));
        // a trainer of another module fails its job at once
        Map<String, String> f = seed("other", "out/other.stream");
        f.put("trainerFilePath", "modules/other/other.trainer");
        expectFailedJob(f, "module Other (other.py) is not available on this server");
    }

    /** What DISCOVER does with a request it cannot run: {"success":"True"}, then the job fails with the reason in its log. */
    static void expectFailedJob(Map<String, String> form, String reason) throws Exception {
        Answer a = postForm(base, "/process", form);
        assertEquals(200, a.status(), a.body());
        assertEquals("True", a.json().get("success").asText());
        String job = form.get("jobID");
        assertEquals(3, awaitDone(job), job);
        String log = postForm(base, "/log", Map.of("jobID", job)).json().get("message").asText();
        assertTrue(log.contains("Job failed with exception") && log.contains(reason), job + ": " + log);
    }

    @Test
    void badRequestsAndFailingJobs() throws Exception {
        expectFailedJob(seed("escape", "../outside.stream"), "output uri: path outside the data folder");
        Map<String, String> escapeIn = seed("escape2", "out/x.stream");
        escapeIn.put("data", data("/etc/passwd", "file:stream:SSIStream", "out/x.stream"));
        expectFailedJob(escapeIn, "input uri: path outside the data folder");
        Map<String, String> trainer = seed("escape3", "out/x.stream");
        trainer.put("trainerFilePath", "..\\..\\x.trainer");
        expectFailedJob(trainer, "trainerFilePath: path outside the data folder");
        Map<String, String> unknown = seed("unknown", "out/x.stream");
        unknown.put("trainerFilePath", "modules/nothing/nothing.trainer");
        expectFailedJob(unknown, "no trainer modules/nothing/nothing.trainer");
        Map<String, String> badData = seed("bad1", "out/x.stream");
        badData.put("data", "[{");
        expectFailedJob(badData, "data: malformed JSON");
        Map<String, String> badFrame = seed("bad2", "out/x.stream");
        badFrame.put("frame_size", "fast");
        expectFailedJob(badFrame, "framing: not a time: \"fast\"");
        Map<String, String> badPooling = seed("bad3", "out/x.stream");
        badPooling.put("optStr", "pooling=max");
        expectFailedJob(badPooling, "pooling must be default, mean or compat");
        Map<String, String> noDb = seed("bad4", "out/x.stream");
        noDb.put("data", "[{\"src\":\"db:annotation:Free\",\"type\":\"input\",\"id\":\"transcript\",\"scheme\":\"t\","
                + "\"annotator\":\"a\",\"role\":\"r\"},{\"src\":\"file:stream:SSIStream\",\"type\":\"output\",\"id\":\"embeddings\",\"uri\":\"o\"}]");
        expectFailedJob(noDb, "db: sources need dbHost and dbPort");
        assertFalse(Files.exists(root.resolve("out/x.stream")));
        Map<String, String> badId = seed("a/b", "out/x.stream");
        expectError(postForm(base, "/process", badId), 400, "Validation");
        expectError(TestSupport.postJson(base, "/process", seed("json", "out/x.stream")), 415, "Validation");
        assertEquals(0, postForm(base, "/job_status", Map.of("jobID", "json")).json().get("status").asInt());
        assertEquals("false", postForm(base, "/cancel", Map.of("jobID", "nobody")).json().get("success").asText());
        assertEquals("No log for the given parameters found.", postForm(base, "/log", Map.of("jobID", "nobody")).json().get("message").asText());
        expectError(get(base, "/log/nobody"), 404, "NotFound");

        // a missing annotation fails the session and so the job, with the reason in its log
        Map<String, String> missing = seed("missing", "out/missing.stream");
        missing.put("data", data("session/nothing.annotation", "file:stream:SSIStream", "out/missing.stream"));
        assertEquals(200, postForm(base, "/process", missing).status());
        assertEquals(3, awaitDone("missing"));
        String log = postForm(base, "/log", Map.of("jobID", "missing")).json().get("message").asText();
        assertTrue(log.contains("nothing.annotation") && log.contains("Processor exited with error"), log);
        assertFalse(Files.exists(root.resolve("out/missing.stream")));
        assertEquals("false", postForm(base, "/cancel", Map.of("jobID", "missing")).json().get("success").asText());
    }
}
