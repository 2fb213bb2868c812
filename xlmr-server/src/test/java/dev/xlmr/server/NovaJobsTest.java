package dev.xlmr.server;

import static dev.xlmr.server.TestSupport.postForm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.nova.Annotations;
import dev.xlmr.nova.FileType;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Job states with a model that holds its first call: RUNNING, WAITING behind it, cancel of both. */
class NovaJobsTest {
    @TempDir
    Path root;

    static int status(URI base, String job) throws Exception {
        return postForm(base, "/job_status", Map.of("jobID", job)).json().get("status").asInt();
    }

    static void await(URI base, String job, int status) throws Exception {
        for (int i = 0; i < 500 && status(base, job) != status; i++) Thread.sleep(10);
        assertEquals(status, status(base, job), "status of " + job);
    }

    @Test
    void runningAndWaitingJobsCanBeCancelled() throws Exception {
        Files.createDirectories(root.resolve("s"));
        Annotations.write(NovaRoutesTest.transcript(), root.resolve("s/t.annotation"), FileType.ASCII);
        CountDownLatch release = new CountDownLatch(1);
        LoadLimitsTest.SlowService slow = new LoadLimitsTest.SlowService(release);
        try (XlmrServer s = XlmrServer.start(slow, ServerOptions.defaults().port(0).novaRoot(root))) {
            URI base = s.uri();
            Map<String, String> first = NovaRoutesTest.seed("first", "out/first.stream");
            first.put("data", NovaRoutesTest.data("s/t.annotation", "file:stream:SSIStream", "out/first.stream"));
            first.put("optStr", "batch_size=1");
            Map<String, String> second = NovaRoutesTest.seed("second", "out/second.stream");
            second.put("data", NovaRoutesTest.data("s/t.annotation", "file:stream:SSIStream", "out/second.stream"));
            assertEquals("True", postForm(base, "/process", first).json().get("success").asText());
            assertTrue(slow.started.await(10, TimeUnit.SECONDS));
            await(base, "first", 1); // RUNNING, held inside the model
            assertEquals("True", postForm(base, "/process", second).json().get("success").asText());
            assertEquals(0, status(base, "second")); // WAITING: one job at a time
            // NOVA derives job IDs from the request: asking again for a running job keeps that job
            assertEquals("True", postForm(base, "/process", first).json().get("success").asText());
            assertEquals(1, status(base, "first"));
            assertTrue(postForm(base, "/log", Map.of("jobID", "first")).json().get("message").asText()
                    .contains("a second request for this job while it is running was ignored"));

            assertEquals("true", postForm(base, "/cancel", Map.of("jobID", "second")).json().get("success").asText());
            assertEquals(4, status(base, "second"));
            assertEquals("true", postForm(base, "/cancel", Map.of("jobID", "first")).json().get("success").asText());
            assertEquals(4, status(base, "first"));
            release.countDown(); // the job notices before its next batch
            Thread.sleep(300);
            assertEquals(4, status(base, "first"));
            assertFalse(Files.exists(root.resolve("out/first.stream")));
            assertFalse(Files.exists(root.resolve("out/second.stream")));
            assertTrue(postForm(base, "/log", Map.of("jobID", "first")).json().get("message").asText().contains("canceled"));
            assertEquals("false", postForm(base, "/cancel", Map.of("jobID", "first")).json().get("success").asText());

            // a finished job id can be used again
            Map<String, String> again = NovaRoutesTest.seed("first", "out/first.stream");
            again.put("data", NovaRoutesTest.data("s/t.annotation", "file:stream:SSIStream", "out/first.stream"));
            assertEquals("True", postForm(base, "/process", again).json().get("success").asText());
            await(base, "first", 2);
            assertTrue(Files.exists(root.resolve("out/first.stream~")));
        }
    }
}
