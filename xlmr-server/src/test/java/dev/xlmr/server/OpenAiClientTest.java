package dev.xlmr.server;

import static dev.xlmr.server.TestSupport.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.openai.OpenAiEmbeddingModel;
import dev.langchain4j.model.output.Response;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** langchain4j's OpenAiEmbeddingModel, a real OpenAI client, against the server; values from the fixture. */
class OpenAiClientTest {
    static LocalInferenceService service;
    static XlmrServer server;
    static final List<String> texts = new ArrayList<>();
    static final List<float[]> expected = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        service = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base", 0);
        server = XlmrServer.start(service, ServerOptions.defaults().port(0).apiKey("sk-test").servedModelName("xlmr-base"));
        TestSupport.sentenceEmbeddings("xlmr-base", texts, expected);
    }

    @AfterAll
    static void stop() {
        server.close();
        service.close();
    }

    static OpenAiEmbeddingModel.OpenAiEmbeddingModelBuilder client(String key) {
        return OpenAiEmbeddingModel.builder().baseUrl(server.uri() + "v1").apiKey(key).modelName("xlmr-base").maxRetries(0);
    }

    @Test
    void batchOf512InFloats() {
        List<TextSegment> segments = new ArrayList<>();
        for (int i = 0; i < 512; i++) segments.add(TextSegment.from(texts.get(i % texts.size())));
        Response<List<Embedding>> r = client("sk-test").build().embedAll(segments);
        assertEquals(512, r.content().size());
        for (int i = 0; i < 512; i++) assertClose(expected.get(i % texts.size()), r.content().get(i).vector(), 1e-4, "segment " + i);
        assertTrue(r.tokenUsage().inputTokenCount() > 512);
    }

    @Test
    void dimensionsAreCutAndRenormalised() {
        Embedding e = client("sk-test").dimensions(8).build().embed(texts.get(3)).content();
        float[] cut = Arrays.copyOf(expected.get(3), 8);
        TeiRoutes.normalize(cut);
        assertClose(cut, e.vector(), 1e-4, "dimensions 8");
    }

    @Test
    void errorsReachTheClientWithOpenAisMessage() {
        RuntimeException wrongKey = assertThrows(RuntimeException.class, () -> client("wrong").build().embed("a"));
        assertTrue(String.valueOf(wrongKey.getMessage()).contains("API key"), String.valueOf(wrongKey.getMessage()));
        RuntimeException tooBig = assertThrows(RuntimeException.class, () -> client("sk-test").dimensions(64).build().embed("a"));
        assertTrue(String.valueOf(tooBig.getMessage()).contains("dimensions"), String.valueOf(tooBig.getMessage()));
    }
}
