package dev.xlmr.server;

import static dev.xlmr.server.TeiRoutesTest.expectError;
import static dev.xlmr.server.TestSupport.assertClose;
import static dev.xlmr.server.TestSupport.floats;
import static dev.xlmr.server.TestSupport.get;
import static dev.xlmr.server.TestSupport.post;
import static dev.xlmr.server.TestSupport.postJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import dev.xlmr.server.TestSupport.Answer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Text-embeddings-inference's and OpenAI's semantics on a real server: every field, route, status, shape and
 * header a TEI or OpenAI client relies on. Expected vectors come from the reference fixture (expected.json of
 * xlmr-base: transformers' hidden states and sentence-transformers' embeddings), token offsets from the
 * tokenizers reference (tok_public.fast.jsonl).
 */
class TeiCompatTest {
    static LocalInferenceService service;
    static XlmrServer server;
    static URI base;
    /** Fixture texts (non-empty) with their reference ids, normalised embeddings and unnormalised means. */
    static final List<String> texts = new ArrayList<>();
    static final List<int[]> ids = new ArrayList<>();
    static final List<float[]> embeddings = new ArrayList<>();
    static final List<float[]> means = new ArrayList<>();
    static final List<float[]> cls = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        service = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base", 0);
        server = XlmrServer.start(service, ServerOptions.defaults().port(0).maxClientBatchSize(8));
        base = server.uri();
        for (JsonNode c : TestSupport.expected("xlmr-base").get("cases")) {
            if (c.has("text_pairs")) continue;
            for (int i = 0; i < c.get("texts").size(); i++) {
                String t = c.get("texts").get(i).asText();
                if (t.isEmpty()) continue;
                texts.add(t);
                List<Integer> row = new ArrayList<>();
                JsonNode mask = c.get("attention_mask").get(i);
                for (int k = 0; k < mask.size(); k++) if (mask.get(k).asInt() == 1) row.add(c.get("input_ids").get(i).get(k).asInt());
                ids.add(row.stream().mapToInt(Integer::intValue).toArray());
                embeddings.add(floats(c.get("sentence_embedding").get(i)));
                JsonNode hidden = c.get("last_hidden_state").get(i);
                float[] mean = new float[hidden.get(0).size()];
                for (int k = 0; k < row.size(); k++) {
                    float[] h = floats(hidden.get(k));
                    for (int d = 0; d < mean.length; d++) mean[d] += h[d] / row.size();
                }
                means.add(mean);
                cls.add(floats(hidden.get(0)));
            }
        }
    }

    @AfterAll
    static void stop() {
        server.close();
        service.close();
    }

    static float[] unit(float[] v) {
        float[] c = v.clone();
        TeiRoutes.normalize(c);
        return c;
    }

    static float[] firstDims(float[] v, int n, boolean normalize) {
        float[] c = Arrays.copyOf(v, n);
        if (normalize) TeiRoutes.normalize(c);
        return c;
    }

    @Test
    void dimensionsCutAndRenormaliseAsTeiDoesForMatryoshka() throws Exception {
        Answer tei = postJson(base, "/embed", Map.of("inputs", texts.get(1), "dimensions", 8));
        assertEquals(200, tei.status(), tei.body());
        assertClose(firstDims(embeddings.get(1), 8, true), floats(tei.json().get(0)), 1e-4, "embed dims");
        Answer raw = postJson(base, "/embed", Map.of("inputs", texts.get(1), "dimensions", 8, "normalize", false));
        // normalize false: the folder's Normalize module still runs (sentence-transformers' output), then the cut
        assertClose(firstDims(embeddings.get(1), 8, false), floats(raw.json().get(0)), 1e-4, "embed dims raw");
        Answer oa = postJson(base, "/v1/embeddings", Map.of("input", List.of(texts.get(0), texts.get(2)), "dimensions", 5));
        assertEquals(200, oa.status(), oa.body());
        assertClose(firstDims(embeddings.get(0), 5, true), floats(oa.json().get("data").get(0).get("embedding")), 1e-4, "oa 0");
        assertClose(firstDims(embeddings.get(2), 5, true), floats(oa.json().get("data").get(1).get("embedding")), 1e-4, "oa 1");
        assertEquals(32, postJson(base, "/embed", Map.of("inputs", "x", "dimensions", 32)).json().get(0).size());
        expectError(postJson(base, "/embed", Map.of("inputs", "x", "dimensions", 0)), 422, "Validation");
        expectError(postJson(base, "/embed", Map.of("inputs", "x", "dimensions", 33)), 422, "Validation");
        expectError(postJson(base, "/embed", Map.of("inputs", "x", "dimensions", "8")), 422, "Validation");
        expectOpenAiError(postJson(base, "/v1/embeddings", Map.of("input", "x", "dimensions", 0)), 422, "dimensions");
        expectOpenAiError(postJson(base, "/v1/embeddings", Map.of("input", "x", "dimensions", 33)), 422, "dimensions");
    }

    @Test
    void tokenIdsAreInputsOnBothRoutes() throws Exception {
        Answer single = postJson(base, "/embed", Map.of("inputs", ids.get(0)));
        assertEquals(200, single.status(), single.body());
        assertEquals(1, single.json().size());
        assertClose(embeddings.get(0), floats(single.json().get(0)), 1e-4, "ids");
        Answer batch = postJson(base, "/embed", Map.of("inputs", List.of(ids.get(0), ids.get(3))));
        assertClose(embeddings.get(3), floats(batch.json().get(1)), 1e-4, "ids batch");
        Answer mixed = postJson(base, "/embed", Map.of("inputs", List.of(texts.get(2), ids.get(3))));
        assertClose(embeddings.get(2), floats(mixed.json().get(0)), 1e-4, "mixed text");
        assertClose(embeddings.get(3), floats(mixed.json().get(1)), 1e-4, "mixed ids");
        for (Object input : List.of(List.of(ids.get(4)), ids.get(4))) {
            Answer oa = postJson(base, "/v1/embeddings", Map.of("input", input));
            assertEquals(200, oa.status(), oa.body());
            assertClose(embeddings.get(4), floats(oa.json().get("data").get(0).get("embedding")), 1e-4, "oa ids");
            assertEquals(ids.get(4).length, oa.json().get("usage").get("prompt_tokens").asInt());
        }
        Answer all = postJson(base, "/embed_all", Map.of("inputs", List.of(ids.get(0))));
        assertEquals(ids.get(0).length, all.json().get(0).size());
        expectError(postJson(base, "/embed", Map.of("inputs", List.of(0, 8002, 2))), 422, "Tokenizer");
        expectError(postJson(base, "/embed", Map.of("inputs", List.of(0, -1, 2))), 422, "Validation");
        expectError(postJson(base, "/embed", Map.of("inputs", List.of(List.of()))), 400, "Empty");
    }

    @Test
    void embeddingsAliasAndBatchLimits() throws Exception {
        Answer alias = postJson(base, "/embeddings", Map.of("input", texts.get(0), "model", "whatever"));
        assertEquals(200, alias.status(), alias.body());
        assertClose(embeddings.get(0), floats(alias.json().get("data").get(0).get("embedding")), 1e-4, "alias");
        List<String> nine = texts.subList(0, 9);
        Answer over = postJson(base, "/embed", Map.of("inputs", nine));
        expectError(over, 422, "Validation");
        assertEquals("batch size 9 > maximum allowed batch size 8", over.json().get("error").asText());
        // LangChain's 512 per request: the OpenAI route takes it and splits it into batches of 8
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 512; i++) many.add(texts.get(i % texts.size()));
        Answer big = postJson(base, "/v1/embeddings", Map.of("input", many));
        assertEquals(200, big.status(), big.body());
        assertEquals(512, big.json().get("data").size());
        int tokens = 0;
        for (int i = 0; i < 512; i++) {
            JsonNode d = big.json().get("data").get(i);
            assertEquals(i, d.get("index").asInt());
            assertClose(embeddings.get(i % texts.size()), floats(d.get("embedding")), 1e-4, "big " + i);
            tokens += ids.get(i % texts.size()).length;
        }
        assertEquals(tokens, big.json().get("usage").get("total_tokens").asInt());
        List<String> tooMany = new ArrayList<>(java.util.Collections.nCopies(ServerOptions.OPENAI_MAX_INPUTS + 1, "a"));
        expectOpenAiError(postJson(base, "/v1/embeddings", Map.of("input", tooMany)), 422, null);
    }

    @Test
    void truncationAutoTruncateAndDirection() throws Exception {
        String longText = "word ".repeat(300);
        // auto-truncate is on by default (TEI >= 1.9.2): the OpenAI route and /embed cut
        Answer oa = postJson(base, "/v1/embeddings", Map.of("input", longText));
        assertEquals(200, oa.status(), oa.body());
        assertEquals(128, oa.json().get("usage").get("prompt_tokens").asInt());
        expectOpenAiError(postJson(base, "/v1/embeddings", Map.of("input", longText, "truncate", false)), 422, null);
        assertEquals("128", postJson(base, "/embed", Map.of("inputs", longText)).header("x-compute-tokens"));
        // Left keeps <s>, the last 126 tokens of the text and </s>; Right the first 126
        List<Integer> all = new ArrayList<>();
        String text = String.join(" ", texts.subList(0, 8)).repeat(3);
        for (JsonNode t : postJson(base, "/tokenize", Map.of("inputs", text)).json().get(0)) all.add(t.get("id").asInt());
        assertTrue(all.size() > 140, "long enough: " + all.size());
        List<Integer> left = new ArrayList<>(List.of(0));
        left.addAll(all.subList(all.size() - 127, all.size()));
        List<Integer> right = new ArrayList<>(all.subList(0, 127));
        right.add(2);
        Answer l = postJson(base, "/embed", Map.of("inputs", text, "truncation_direction", "Left"));
        Answer r = postJson(base, "/embed", Map.of("inputs", text, "truncation_direction", "right"));
        Answer cut = postJson(base, "/embed", Map.of("inputs", List.of(left, right)));
        assertClose(floats(cut.json().get(0)), floats(l.json().get(0)), 1e-5, "left");
        assertClose(floats(cut.json().get(1)), floats(r.json().get(0)), 1e-5, "right");
        expectError(postJson(base, "/embed", Map.of("inputs", "a", "truncation_direction", "Middle")), 422, "Validation");
    }

    @Test
    void promptsEmptyInputsAndBrokenText() throws Exception {
        expectError(postJson(base, "/embed", Map.of("inputs", "a", "prompt_name", "query")), 422, "Validation");
        expectOpenAiError(postJson(base, "/v1/embeddings", Map.of("input", "a", "prompt_name", "query")), 422, null);
        expectError(postJson(base, "/embed", Map.of("inputs", "")), 400, "Empty");
        expectError(postJson(base, "/embed", Map.of("inputs", List.of("a", ""))), 400, "Empty");
        Answer empty = postJson(base, "/v1/embeddings", Map.of("input", ""));
        expectOpenAiError(empty, 400, "input");
        assertEquals("empty", empty.json().get("error").get("code").asText());
        // a lone surrogate is valid JSON but no text; invalid UTF-8 is no JSON
        expectError(post(base, "/embed", "application/json", "{\"inputs\": \"a\\ud800b\"}"), 400, "Validation");
        expectOpenAiError(post(base, "/v1/embeddings", "application/json", "{\"input\": [\"\\udc00\"]}"), 400, null);
        byte[] bad = "{\"inputs\": \"a\u00ffb\"}".getBytes(StandardCharsets.ISO_8859_1);
        Answer invalid = TestSupport.send(HttpRequest.newBuilder(base.resolve("/embed")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bad)).build());
        expectError(invalid, 400, "Validation");
        // a valid pair of surrogates is text
        assertEquals(200, postJson(base, "/embed", Map.of("inputs", "emoji 😀")).status());
    }

    @Test
    void errorShapesInfoAndTokenOffsets() throws Exception {
        expectOpenAiError(get(base, "/v1/models"), 404, null);
        expectError(get(base, "/nowhere"), 404, "NotFound");
        JsonNode info = get(base, "/info").json();
        assertEquals("xlmr-base", info.get("served_model_name").asText());
        assertTrue(info.get("auto_truncate").asBoolean());
        // /tokenize offsets are UTF-8 bytes: the reference's code point offsets converted
        List<String> lines = Files.readAllLines(TestSupport.testdata("tokenizer").resolve("tok_public.fast.jsonl"));
        int checked = 0;
        for (String line : lines) {
            JsonNode ref = TestSupport.JSON.readTree(line);
            String text = ref.get("text").asText();
            if (text.isEmpty() || text.chars().allMatch(c -> c < 128) || text.length() > 200 || checked >= 20) continue;
            Answer a = postJson(base, "/tokenize", Map.of("inputs", text));
            assertEquals(200, a.status(), a.body());
            JsonNode got = a.json().get(0);
            assertEquals(ref.get("ids").size(), got.size(), text);
            int[] cps = text.codePoints().toArray();
            for (int k = 0; k < got.size(); k++) {
                JsonNode t = got.get(k);
                assertEquals(ref.get("ids").get(k).asInt(), t.get("id").asInt(), text);
                if (t.get("special").asBoolean()) {
                    assertTrue(t.get("start").isNull());
                    continue;
                }
                int from = ref.get("offsets").get(k).get(0).asInt(), to = ref.get("offsets").get(k).get(1).asInt();
                int bFrom = new String(cps, 0, from).getBytes(StandardCharsets.UTF_8).length;
                int bTo = new String(cps, 0, to).getBytes(StandardCharsets.UTF_8).length;
                assertEquals(bFrom, t.get("start").asInt(), text + " token " + k);
                assertEquals(bTo, t.get("stop").asInt(), text + " token " + k);
            }
            checked++;
        }
        assertEquals(20, checked);
    }

    @Test
    void similarityDefaultRoutesAndHeaders() throws Exception {
        Answer s = postJson(base, "/similarity", Map.of("inputs", Map.of("source_sentence", texts.get(0),
                "sentences", List.of(texts.get(1), texts.get(0)))));
        assertEquals(200, s.status(), s.body());
        double expected = EmbeddingPipeline.cosine(embeddings.get(0), embeddings.get(1));
        assertEquals(expected, s.json().get(0).asDouble(), 1e-4);
        assertEquals(1.0, s.json().get(1).asDouble(), 1e-5);
        expectError(postJson(base, "/similarity", Map.of("inputs", Map.of("source_sentence", "a", "sentences", List.of()))), 400, "Empty");
        expectError(postJson(base, "/similarity", Map.of("inputs", Map.of("source_sentence", "a",
                "sentences", texts.subList(0, 8)))), 422, "Validation");
        for (String path : List.of("/", "/ping", "/health")) assertEquals(200, get(base, path).status(), path);
        for (String path : List.of("/", "/invocations")) {
            Answer a = postJson(base, path, Map.of("inputs", texts.get(0)));
            assertEquals(200, a.status(), a.body());
            assertClose(embeddings.get(0), floats(a.json().get(0)), 1e-4, path);
        }
        Answer h = postJson(base, "/embed", Map.of("inputs", List.of(texts.get(0), texts.get(1))));
        assertEquals(Integer.toString(ids.get(0).length + ids.get(1).length), h.header("x-compute-tokens"));
        int chars = texts.get(0).codePointCount(0, texts.get(0).length()) + texts.get(1).codePointCount(0, texts.get(1).length());
        assertEquals(Integer.toString(chars), h.header("x-compute-characters"));
        assertEquals("cpu", h.header("x-compute-type"));
        for (String name : List.of("x-compute-time", "x-total-time", "x-tokenization-time", "x-queue-time", "x-inference-time")) {
            assertNotNull(h.header(name), name);
            assertTrue(Long.parseLong(h.header(name)) >= 0, name);
        }
        assertNotNull(postJson(base, "/v1/embeddings", Map.of("input", "a")).header("x-inference-time"));
    }

    @Test
    void openApiDocumentNamesEveryRoute() throws Exception {
        Answer a = get(base, "/api-doc/openapi.json");
        assertEquals(200, a.status());
        JsonNode paths = a.json().get("paths");
        for (String route : List.of("POST /embed", "POST /embed_all", "POST /similarity", "POST /predict", "POST /rerank",
                "POST /tokenize", "POST /decode", "POST /embed_sparse", "POST /embed_colbert", "POST /v1/embeddings", "POST /embeddings", "POST /fill-mask", "POST /ner",
                "POST /qa", "POST /zero-shot", "GET /info", "GET /health", "GET /", "POST /", "GET /ping", "POST /invocations",
                "GET /metrics")) {
            String[] mp = route.split(" ");
            assertTrue(paths.has(mp[1]) && paths.get(mp[1]).has(mp[0].toLowerCase()), route + " undocumented");
            // and the documented route exists
            assertTrue(TestSupport.send(HttpRequest.newBuilder(base.resolve(mp[1])).method(mp[0],
                    HttpRequest.BodyPublishers.noBody()).build()).status() != 404, route);
        }
        Answer docs = get(base, "/docs");
        assertEquals(200, docs.status());
        assertTrue(docs.header("content-type").startsWith("text/html"));
    }

    @Test
    void corsPreflightAndAnyOrigin() throws Exception {
        Answer pre = TestSupport.send(HttpRequest.newBuilder(base.resolve("/embed"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).header("Origin", "https://app.example")
                .header("Access-Control-Request-Method", "POST").header("Access-Control-Request-Headers", "content-type").build());
        assertEquals(200, pre.status());
        assertEquals("*", pre.header("access-control-allow-origin"));
        assertTrue(pre.header("access-control-allow-methods").contains("POST"));
        assertTrue(pre.header("access-control-allow-headers").contains("content-type"));
        Answer simple = TestSupport.send(HttpRequest.newBuilder(base.resolve("/embed")).header("Origin", "https://app.example")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"inputs\":\"a\"}")).build());
        assertEquals("*", simple.header("access-control-allow-origin"));
    }

    @Test
    void apiKeyCorsListServedNameAndDefaultPrompt() throws Exception {
        LocalInferenceService prompted = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base",
                LocalInferenceService.Settings.defaults().defaultPrompt("query: "));
        try (XlmrServer s = XlmrServer.start(prompted, ServerOptions.defaults().port(0).apiKey("s3cret")
                .corsAllowOrigins(List.of("https://ok.example")).servedModelName("my-embedder").autoTruncate(false))) {
            URI b = s.uri();
            Answer noKey = postJson(b, "/embed", Map.of("inputs", "a"));
            expectError(noKey, 401, "Unauthorized");
            expectOpenAiError(postJson(b, "/v1/embeddings", Map.of("input", "a")), 401, null);
            assertEquals(200, get(b, "/health").status());
            assertEquals(200, get(b, "/metrics").status());
            HttpRequest.Builder wrong = HttpRequest.newBuilder(b.resolve("/info")).header("Authorization", "Bearer nope");
            assertEquals(401, TestSupport.send(wrong.GET().build()).status());
            Answer info = TestSupport.send(HttpRequest.newBuilder(b.resolve("/info")).header("Authorization", "Bearer s3cret")
                    .header("Origin", "https://ok.example").GET().build());
            assertEquals(200, info.status(), info.body());
            assertEquals("my-embedder", info.json().get("served_model_name").asText());
            assertEquals("https://ok.example", info.header("access-control-allow-origin"));
            Answer other = TestSupport.send(HttpRequest.newBuilder(b.resolve("/health")).header("Origin", "https://evil.example").GET().build());
            assertNull(other.header("access-control-allow-origin"));
            Answer oa = TestSupport.send(HttpRequest.newBuilder(b.resolve("/v1/embeddings")).header("Authorization", "Bearer s3cret")
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"input\": \"Hello world!\"}")).build());
            assertEquals(200, oa.status(), oa.body());
            assertEquals("my-embedder", oa.json().get("model").asText());
            // the default prompt is the pipeline's prefix
            float[] expected = prompted.embeddings().embed("Hello world!", EmbeddingPipeline.Options.defaults().prefix("query: "));
            assertClose(expected, floats(oa.json().get("data").get(0).get("embedding")), 1e-5, "default prompt");
            Answer none = TestSupport.send(HttpRequest.newBuilder(b.resolve("/embed")).header("Authorization", "Bearer s3cret")
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\": \"Hello world!\", \"prompt_name\": \"\"}")).build());
            assertEquals(200, none.status(), none.body());
            assertClose(embeddings.get(0), floats(none.json().get(0)), 1e-4, "no prompt");
            // auto-truncate off: a long input is refused unless the request truncates
            Answer longOne = TestSupport.send(HttpRequest.newBuilder(b.resolve("/embed")).header("Authorization", "Bearer s3cret")
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\": \"" + "word ".repeat(300) + "\"}")).build());
            expectError(longOne, 422, "Validation");
        } finally {
            prompted.close();
        }
    }

    @Test
    void poolingOptionOverridesTheFolder() throws Exception {
        LocalInferenceService clsService = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base",
                LocalInferenceService.Settings.defaults().pooling(Pooling.CLS));
        try (XlmrServer s = XlmrServer.start(clsService, ServerOptions.defaults().port(0))) {
            assertEquals("cls", get(s.uri(), "/info").json().get("model_type").get("embedding").get("pooling").asText());
            Answer a = postJson(s.uri(), "/embed", Map.of("inputs", texts.get(1)));
            assertClose(unit(cls.get(1)), floats(a.json().get(0)), 1e-4, "cls");
            Answer raw = postJson(s.uri(), "/embed", Map.of("inputs", texts.get(1), "normalize", false));
            assertClose(cls.get(1), floats(raw.json().get(0)), 1e-4, "cls raw");
        } finally {
            clsService.close();
        }
        LocalInferenceService meanService = LocalInferenceService.load(TestSupport.testdata("xlmr-base"), "xlmr-base",
                LocalInferenceService.Settings.defaults().pooling(Pooling.MEAN));
        try (XlmrServer s = XlmrServer.start(meanService, ServerOptions.defaults().port(0))) {
            // an explicit pooling leaves the folder's Normalize module out: normalize false is the plain mean
            Answer raw = postJson(s.uri(), "/embed", Map.of("inputs", texts.get(2), "normalize", false));
            assertClose(means.get(2), floats(raw.json().get(0)), 1e-4, "mean raw");
        } finally {
            meanService.close();
        }
    }

    @Test
    void httpsWithPemCertificateAndKey() throws Exception {
        java.nio.file.Path dir = java.nio.file.Path.of(TeiCompatTest.class.getResource("/tls/cert.pem").toURI()).getParent();
        java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (var in = Files.newInputStream(dir.resolve("cert.pem"))) {
            trust.setCertificateEntry("server", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        java.net.http.HttpClient https = java.net.http.HttpClient.newBuilder().sslContext(ctx).build();
        for (String key : List.of("key.pem", "key-rsa.pem")) { // PKCS#8 and PKCS#1
            try (XlmrServer s = XlmrServer.start(service, ServerOptions.defaults().port(0).tls(dir.resolve("cert.pem"), dir.resolve(key)))) {
                assertEquals("https", s.uri().getScheme());
                var r = https.send(HttpRequest.newBuilder(s.uri().resolve("/embed")).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\": " + TestSupport.JSON.writeValueAsString(texts.get(0)) + "}")).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), r.body());
                assertClose(embeddings.get(0), floats(TestSupport.JSON.readTree(r.body()).get(0)), 1e-4, "https " + key);
            }
        }
        java.io.IOException bad = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> XlmrServer.start(service, ServerOptions.defaults().port(0).tls(dir.resolve("cert.pem"), dir.resolve("cert.pem"))));
        assertTrue(bad.getMessage().contains("private key"), bad.getMessage());
    }

    /** OpenAI's error shape: {"error": {"message", "type", "param", "code"}}. */
    static void expectOpenAiError(Answer a, int status, String param) {
        assertEquals(status, a.status(), a.body());
        JsonNode e = a.json().get("error");
        assertTrue(e != null && e.isObject(), a.body());
        assertTrue(!e.get("message").asText().isBlank(), a.body());
        assertTrue(e.get("type").isTextual(), a.body());
        assertTrue(e.has("param") && e.has("code"), a.body());
        if (param != null) assertEquals(param, e.get("param").asText(), a.body());
        Map<Integer, String> types = new HashMap<>(Map.of(401, "authentication_error", 429, "rate_limit_error"));
        assertEquals(types.getOrDefault(status, status >= 500 ? "server_error" : "invalid_request_error"), e.get("type").asText());
    }
}
