package dev.xlmr.server;

import static dev.xlmr.server.TeiRoutesTest.expectError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import dev.xlmr.server.TestSupport.Answer;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Queue limit (429), request timeout (503) and graceful shutdown, with a slow fake model. */
class LoadLimitsTest {

    /** Embeds a text as [its length]; every call waits for {@code release}. */
    static final class SlowService implements InferenceService {
        final CountDownLatch started = new CountDownLatch(1);
        final CountDownLatch release;

        SlowService(CountDownLatch release) {
            this.release = release;
        }

        @Override
        public ModelInfo info() {
            return new ModelInfo("slow", ModelKind.EMBEDDING, "mean", 1, 512, Map.of());
        }

        /** A text as its length in characters. */
        record Text(String text) implements Input {
            @Override
            public int tokens() {
                return text.length() + 2;
            }

            @Override
            public int fullTokens() {
                return tokens();
            }
        }

        @Override
        public List<Input> prepare(List<String> texts, String promptName, boolean truncate) {
            return texts.stream().map(t -> (Input) new Text(t)).toList();
        }

        @Override
        public List<Input> preparePairs(List<String> texts, List<String> pairs, boolean truncate) {
            throw new UnsupportedOperationException("not a classifier");
        }

        @Override
        public float[][] embed(List<Input> inputs, Pooling pooling, boolean normalize) {
            started.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return inputs.stream().map(t -> new float[] {((Text) t).text().length()}).toArray(float[][]::new);
        }

        @Override
        public float[][][] embedAll(List<Input> inputs) {
            throw new UnsupportedOperationException("the load-limit tests only embed");
        }

        @Override
        public float[][] paddedBatchMean(List<Input> inputs) {
            throw new UnsupportedOperationException("the load-limit tests only embed");
        }

        @Override
        public List<List<Prediction>> classify(List<Input> inputs, boolean rawScores) {
            throw new UnsupportedOperationException("not a classifier");
        }

        @Override
        public float[] rerank(List<Input> pairs, boolean rawScores) {
            throw new UnsupportedOperationException("not a reranker");
        }

        @Override
        public List<List<Token>> tokenize(List<String> texts, boolean addSpecialTokens) {
            return List.of();
        }

        @Override
        public String decode(int[] ids, boolean skipSpecialTokens) {
            return "";
        }

        @Override
        public void close() {}
    }

    static CompletableFuture<Answer> embedAsync(URI base, String text) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return TestSupport.postJson(base, "/embed", Map.of("inputs", text, "normalize", false));
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    static void awaitQueue(XlmrServer s, URI base, String depth) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (TestSupport.get(base, "/metrics").body().contains("xlmr_queue_depth " + depth)) return;
            Thread.sleep(20);
        }
        throw new AssertionError("queue depth never reached " + depth);
    }

    @Test
    void aFullQueueAnswers429WithRetryAfter() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        SlowService slow = new SlowService(release);
        try (XlmrServer s = XlmrServer.start(slow, ServerOptions.defaults().port(0).maxQueue(1).maxWaitMs(0))) {
            URI base = s.uri();
            CompletableFuture<Answer> running = embedAsync(base, "running");
            assertTrue(slow.started.await(10, TimeUnit.SECONDS));
            CompletableFuture<Answer> queued = embedAsync(base, "queued");
            awaitQueue(s, base, "1.0");
            Answer rejected = TestSupport.postJson(base, "/embed", Map.of("inputs", "rejected"));
            expectError(rejected, 429, "Overloaded");
            assertEquals("1", rejected.header("retry-after"));
            release.countDown();
            assertEquals(200, running.get(10, TimeUnit.SECONDS).status());
            Answer q = queued.get(10, TimeUnit.SECONDS);
            assertEquals(200, q.status());
            assertEquals(6.0, q.json().get(0).get(0).asDouble());
            assertTrue(TestSupport.get(base, "/metrics").body().contains("xlmr_queue_rejections_total 1.0"));
        }
    }

    @Test
    void aRequestThatWaitsTooLongGets503() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        SlowService slow = new SlowService(release);
        try (XlmrServer s = XlmrServer.start(slow, ServerOptions.defaults().port(0).requestTimeoutMs(300))) {
            long t0 = System.nanoTime();
            Answer a = TestSupport.postJson(s.uri(), "/embed", Map.of("inputs", "late"));
            expectError(a, 503, "Overloaded");
            assertTrue(System.nanoTime() - t0 >= 290_000_000L);
            release.countDown();
        }
    }

    @Test
    void closeFinishesTheRequestInFlightThenRefusesConnections() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        SlowService slow = new SlowService(release);
        XlmrServer s = XlmrServer.start(slow, ServerOptions.defaults().port(0));
        URI base = s.uri();
        CompletableFuture<Answer> inFlight = embedAsync(base, "in flight");
        assertTrue(slow.started.await(10, TimeUnit.SECONDS));
        CompletableFuture<Void> closing = CompletableFuture.runAsync(s::close);
        Thread.sleep(300);
        assertTrue(!closing.isDone(), "close returned while a request was in flight");
        release.countDown();
        Answer a = inFlight.get(10, TimeUnit.SECONDS);
        assertEquals(200, a.status(), a.body());
        assertEquals(9.0, a.json().get(0).get(0).asDouble());
        closing.get(10, TimeUnit.SECONDS);
        IOException refused = assertThrows(IOException.class, () -> TestSupport.get(base, "/health"));
        assertTrue(refused instanceof ConnectException || refused.getCause() instanceof ConnectException
                || refused.getMessage() != null, String.valueOf(refused));
    }
}
