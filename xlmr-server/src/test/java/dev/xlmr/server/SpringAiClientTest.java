package dev.xlmr.server;

import static dev.xlmr.server.TestSupport.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.ai.document.MetadataMode;
import org.springframework.ai.embedding.EmbeddingRequest;
import org.springframework.ai.embedding.EmbeddingResponse;
import org.springframework.ai.openai.OpenAiEmbeddingModel;
import org.springframework.ai.openai.OpenAiEmbeddingOptions;
import org.springframework.ai.openai.api.OpenAiApi;
import org.springframework.retry.support.RetryTemplate;

/**
 * Spring AI's OpenAiEmbeddingModel (spring-ai-openai 1.1), a second real OpenAI client, against the server:
 * floats and base64, dimensions, a large batch in one request, the usage and model it reads, and the
 * errors it raises. Expected vectors come from the fixture (sentence-transformers' output).
 */
class SpringAiClientTest {
    static LocalInferenceService service;
    static XlmrServer server;
    static final List<String> texts = new ArrayList<>();
    static final List<float[]> expected = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        service = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base", 0);
        server = XlmrServer.start(service, ServerOptions.defaults().port(0).apiKey("sk-test").servedModelName("xlmr-served"));
        TestSupport.sentenceEmbeddings("xlmr-base", texts, expected);
    }

    @AfterAll
    static void stop() {
        server.close();
        service.close();
    }

    /** A client as an application builds one, without retries (a failed call fails at once). */
    static OpenAiEmbeddingModel client(String key, OpenAiEmbeddingOptions options) {
        String base = server.uri().toString().replaceAll("/$", "");
        OpenAiApi api = OpenAiApi.builder().baseUrl(base).apiKey(key).build();
        return new OpenAiEmbeddingModel(api, MetadataMode.EMBED, options, RetryTemplate.builder().maxAttempts(1).build());
    }

    static OpenAiEmbeddingOptions.Builder options() {
        return OpenAiEmbeddingOptions.builder().model("xlmr-served");
    }

    @Test
    void batchOf300InFloatsWithUsageAndModel() {
        List<String> batch = new ArrayList<>();
        for (int i = 0; i < 300; i++) batch.add(texts.get(i % texts.size()));
        EmbeddingResponse r = client("sk-test", options().encodingFormat("float").build())
                .call(new EmbeddingRequest(batch, null));
        assertEquals(300, r.getResults().size());
        for (int i = 0; i < 300; i++) {
            assertEquals(i, r.getResults().get(i).getIndex());
            assertClose(expected.get(i % texts.size()), r.getResults().get(i).getOutput(), 1e-4, "input " + i);
        }
        assertEquals("xlmr-served", r.getMetadata().getModel());
        assertTrue(r.getMetadata().getUsage().getPromptTokens() > 300, "prompt tokens " + r.getMetadata().getUsage());
    }

    @Test
    void base64IsDecodedToTheSameVectors() {
        OpenAiEmbeddingModel m = client("sk-test", options().encodingFormat("base64").user("someone").build());
        List<float[]> out = m.embed(texts.subList(0, 4));
        for (int i = 0; i < 4; i++) assertClose(expected.get(i), out.get(i), 1e-4, "base64 input " + i);
    }

    @Test
    void dimensionsAreCutAndRenormalised() {
        float[] e = client("sk-test", options().dimensions(8).build()).embed(texts.get(2));
        float[] cut = Arrays.copyOf(expected.get(2), 8);
        TeiRoutes.normalize(cut);
        assertClose(cut, e, 1e-4, "dimensions 8");
        // options given per call override the model's
        EmbeddingResponse r = client("sk-test", options().build())
                .call(new EmbeddingRequest(List.of(texts.get(2)), options().dimensions(5).build()));
        assertEquals(5, r.getResult().getOutput().length);
    }

    @Test
    void theLargestRequestSpringAiSendsIsServed() {
        // Spring AI refuses more than 2048 inputs itself; the server's OpenAI route takes that many and splits them
        List<String> most = new ArrayList<>();
        for (int i = 0; i < 2048; i++) most.add(texts.get(i % texts.size()));
        List<float[]> out = client("sk-test", options().build()).embed(most);
        assertEquals(2048, out.size());
        for (int i = 0; i < 2048; i += 97) assertClose(expected.get(i % texts.size()), out.get(i), 1e-4, "input " + i);
        assertEquals(2048, ServerOptions.OPENAI_MAX_INPUTS);
    }

    @Test
    void errorsCarryTheStatusAndOpenAisMessage() {
        RuntimeException wrongKey = assertThrows(RuntimeException.class, () -> client("wrong", options().build()).embed("a"));
        assertTrue(wrongKey.getMessage().contains("401") && wrongKey.getMessage().contains("API key"), wrongKey.getMessage());
        RuntimeException tooBig = assertThrows(RuntimeException.class,
                () -> client("sk-test", options().dimensions(1000).build()).embed("a"));
        assertTrue(tooBig.getMessage().contains("422") && tooBig.getMessage().contains("dimensions"), tooBig.getMessage());
        RuntimeException empty = assertThrows(RuntimeException.class, () -> client("sk-test", options().build()).embed(""));
        assertTrue(empty.getMessage().contains("400") && empty.getMessage().contains("cannot be empty"), empty.getMessage());
    }
}
