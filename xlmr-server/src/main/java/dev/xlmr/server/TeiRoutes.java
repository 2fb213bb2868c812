package dev.xlmr.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.server.InferenceService.ModelInfo;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import dev.xlmr.server.InferenceService.Input;
import dev.xlmr.server.InferenceService.Prediction;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * The text-embeddings-inference routes ({@code /embed}, {@code /embed_all}, {@code /predict},
 * {@code /rerank}, {@code /tokenize}, {@code /decode}, {@code /info}, {@code /health}, {@code /metrics}) and
 * OpenAI's {@code /v1/embeddings}, with TEI's request and answer shapes and error codes: 400 empty input,
 * 413 too many inputs or too large a body, 422 too long an input (with truncate false) or invalid input,
 * 424 a route the model cannot serve, 429 a full queue, 503 a request that timed out.
 */
final class TeiRoutes {
    static final String VERSION = "0.1.0";

    private final InferenceService service;
    private final DynamicBatcher batcher;
    private final ServerMetrics metrics;
    private final ServerOptions options;

    /** Merge key of model work: requests with equal keys share batches (inputs are tokenized before, prompts included). */
    private record Work(String op, boolean normalize, boolean raw) {}

    /** A (query, text) or (text, text_pair) input. */
    private record Pair(String text, String pair) {}

    TeiRoutes(InferenceService service, DynamicBatcher batcher, ServerMetrics metrics, ServerOptions options) {
        this.service = service;
        this.batcher = batcher;
        this.metrics = metrics;
        this.options = options;
    }

    void register(Map<String, XlmrServer.Route> routes) {
        routes.put("POST /embed", this::embed);
        routes.put("POST /embed_all", this::embedAll);
        routes.put("POST /predict", this::predict);
        routes.put("POST /rerank", this::rerank);
        routes.put("POST /tokenize", this::tokenize);
        routes.put("POST /decode", this::decode);
        routes.put("POST /v1/embeddings", this::openAiEmbeddings);
        routes.put("GET /info", ex -> ex.sendJson(200, info()));
        routes.put("GET /health", this::health);
        routes.put("GET /metrics", ex -> ex.sendText(200, metrics.scrape(), ServerMetrics.contentType()));
    }

    private void embed(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        List<String> texts = texts(req, "inputs");
        boolean normalize = bool(req, "normalize", true);
        boolean truncate = bool(req, "truncate", false);
        List<Input> inputs = prepare(texts, promptName(req), truncate);
        List<float[]> vectors = runModel(new Work("embed", normalize, false), inputs, checkLengths(inputs, truncate),
                batch -> Arrays.asList(service.embed(batch, Pooling.AUTO, normalize)));
        ex.sendJson(200, vectors);
    }

    private void embedAll(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        List<String> texts = texts(req, "inputs");
        boolean truncate = bool(req, "truncate", false);
        List<Input> inputs = prepare(texts, promptName(req), truncate);
        List<float[][]> vectors = runModel(new Work("embed_all", false, false), inputs, checkLengths(inputs, truncate),
                batch -> Arrays.asList(service.embedAll(batch)));
        ex.sendJson(200, vectors);
    }

    private void openAiEmbeddings(Exchange ex) throws Exception {
        try {
            JsonNode req = ex.json();
            List<String> texts = texts(req, "input");
            String format = req.path("encoding_format").asText("float");
            if (!format.equals("float") && !format.equals("base64")) {
                throw new ApiException(422, "validation", "encoding_format must be float or base64, got " + format);
            }
            List<Input> inputs = prepare(texts, promptName(req), false);
            int tokens = checkLengths(inputs, false);
            List<float[]> vectors = runModel(new Work("embed", true, false), inputs, tokens,
                    batch -> Arrays.asList(service.embed(batch, Pooling.AUTO, true)));
            List<Map<String, Object>> data = new ArrayList<>();
            for (int i = 0; i < vectors.size(); i++) {
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("object", "embedding");
                d.put("embedding", format.equals("base64") ? base64(vectors.get(i)) : vectors.get(i));
                d.put("index", i);
                data.add(d);
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("object", "list");
            body.put("data", data);
            body.put("model", service.info().modelId());
            body.put("usage", Map.of("prompt_tokens", tokens, "total_tokens", tokens));
            ex.sendJson(200, body);
        } catch (ApiException e) {
            // TEI's OpenAI route answers {message, code, error_type}; "error" is kept for uniformity.
            if (e.retryAfterSeconds() > 0) ex.header("Retry-After", Long.toString(e.retryAfterSeconds()));
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("message", e.getMessage());
            body.put("code", e.status());
            body.put("error_type", e.errorType());
            body.put("error", e.getMessage());
            ex.sendJson(e.status(), body);
        }
    }

    /** TEI's {@code prompt_name}: a prompt of the folder's config_sentence_transformers.json, or null. */
    private static String promptName(JsonNode req) {
        JsonNode v = req.get("prompt_name");
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw new ApiException(422, "validation", "`prompt_name` must be a string");
        return v.asText();
    }

    /** Tokenizes on the request thread (once): 424 for a model that does not embed, 422 for an unknown prompt. */
    private List<Input> prepare(List<String> texts, String promptName, boolean truncate) {
        try {
            return service.prepare(texts, promptName, truncate);
        } catch (UnsupportedOperationException e) {
            throw new ApiException(424, "backend", e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new ApiException(422, "validation", e.getMessage());
        }
    }

    private List<Input> preparePairs(List<Pair> pairs, boolean truncate) {
        try {
            return service.preparePairs(pairs.stream().map(Pair::text).toList(),
                    pairs.stream().map(Pair::pair).toList(), truncate);
        } catch (UnsupportedOperationException e) {
            throw new ApiException(424, "backend", e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new ApiException(422, "validation", e.getMessage());
        }
    }

    /** Little-endian float32 bytes in base64, as OpenAI's encoding_format=base64. */
    static String base64(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return Base64.getEncoder().encodeToString(b.array());
    }

    private void predict(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        JsonNode in = req.get("inputs");
        boolean truncate = bool(req, "truncate", false);
        boolean raw = bool(req, "raw_scores", false);
        List<Pair> inputs = new ArrayList<>();
        boolean single;
        if (in != null && in.isTextual()) {
            single = true;
            inputs.add(new Pair(in.asText(), null));
        } else if (in != null && in.isArray() && !in.isEmpty() && in.get(0).isTextual()) {
            single = true;
            if (in.size() != 2 || !in.get(1).isTextual()) {
                throw invalidPredict();
            }
            inputs.add(new Pair(in.get(0).asText(), in.get(1).asText()));
        } else if (in != null && in.isArray()) {
            single = false;
            for (JsonNode item : in) {
                if (!item.isArray() || item.isEmpty() || item.size() > 2 || !item.get(0).isTextual()
                        || item.size() == 2 && !item.get(1).isTextual()) {
                    throw invalidPredict();
                }
                inputs.add(new Pair(item.get(0).asText(), item.size() == 2 ? item.get(1).asText() : null));
            }
        } else {
            throw invalidPredict();
        }
        checkCount(inputs.size());
        requireClassifier("predict");
        List<Input> prepared = preparePairs(inputs, truncate);
        List<List<Prediction>> out = runModel(new Work("predict", false, raw), prepared, checkLengths(prepared, truncate),
                batch -> service.classify(batch, raw));
        ex.sendJson(200, single ? out.getFirst() : out);
    }

    private static ApiException invalidPredict() {
        return new ApiException(422, "validation",
                "inputs must be a string, a pair [text, text_pair], or a list of [text] or [text, text_pair]");
    }

    private void rerank(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        JsonNode q = req.get("query");
        if (q == null || !q.isTextual()) throw new ApiException(422, "validation", "query must be a string");
        List<String> texts = texts(req, "texts");
        boolean truncate = bool(req, "truncate", false);
        boolean raw = bool(req, "raw_scores", false);
        boolean returnText = bool(req, "return_text", false);
        if (service.info().kind() != InferenceService.ModelKind.RERANKER) {
            throw new ApiException(424, "backend", "rerank needs a re-ranker model (a sequence classifier with one "
                    + "label); this model is a " + service.info().kind().name().toLowerCase(Locale.ROOT));
        }
        String query = q.asText();
        List<Input> pairs = preparePairs(texts.stream().map(t -> new Pair(query, t)).toList(), truncate);
        List<Float> scores = runModel(new Work("rerank", false, raw), pairs, checkLengths(pairs, truncate), batch -> {
            float[] r = service.rerank(batch, raw);
            List<Float> s = new ArrayList<>(r.length);
            for (float v : r) s.add(v);
            return s;
        });
        List<Map<String, Object>> ranks = new ArrayList<>();
        for (int i = 0; i < scores.size(); i++) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("index", i);
            if (returnText) r.put("text", texts.get(i));
            r.put("score", scores.get(i));
            ranks.add(r);
        }
        ranks.sort(Comparator.comparingDouble((Map<String, Object> r) -> (Float) r.get("score")).reversed());
        ex.sendJson(200, ranks);
    }

    private void tokenize(Exchange ex) {
        JsonNode req = ex.json();
        List<String> texts = texts(req, "inputs");
        boolean special = bool(req, "add_special_tokens", true);
        ex.sendJson(200, service.tokenize(texts, special));
    }

    private void decode(Exchange ex) {
        JsonNode req = ex.json();
        JsonNode ids = req.get("ids");
        boolean skip = bool(req, "skip_special_tokens", true);
        if (ids == null || !ids.isArray() || ids.isEmpty()) {
            throw new ApiException(400, "empty", "ids must be a non-empty list of token ids or of lists of token ids");
        }
        List<int[]> sequences = new ArrayList<>();
        if (ids.get(0).isArray()) {
            for (JsonNode seq : ids) sequences.add(intArray(seq));
        } else {
            sequences.add(intArray(ids));
        }
        checkCount(sequences.size());
        List<String> out = new ArrayList<>();
        try {
            for (int[] s : sequences) out.add(service.decode(s, skip));
        } catch (IllegalArgumentException e) {
            throw new ApiException(422, "tokenizer", e.getMessage());
        }
        ex.sendJson(200, out);
    }

    private static int[] intArray(JsonNode a) {
        if (!a.isArray()) throw new ApiException(422, "validation", "ids must be lists of integers");
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = a.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new ApiException(422, "validation", "ids must be integers, got " + v);
            }
            out[i] = v.intValue();
        }
        return out;
    }

    private void health(Exchange ex) {
        if (batcher.isHealthy()) {
            ex.send(200, null, new byte[0]);
        } else {
            throw new ApiException(503, "unhealthy", "unhealthy");
        }
    }

    private Map<String, Object> info() {
        ModelInfo i = service.info();
        Map<String, Object> type = new LinkedHashMap<>();
        switch (i.kind()) {
            case EMBEDDING -> type.put("embedding", Map.of("pooling", i.pooling()));
            case CLASSIFIER, RERANKER -> {
                Map<String, String> id2label = new TreeMap<>();
                Map<String, Integer> label2id = new TreeMap<>();
                i.id2label().forEach((k, v) -> {
                    id2label.put(k.toString(), v);
                    label2id.put(v, k);
                });
                type.put(i.kind().name().toLowerCase(Locale.ROOT), Map.of("id2label", id2label, "label2id", label2id));
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model_id", i.modelId());
        out.put("model_sha", null);
        out.put("model_dtype", "float32");
        out.put("model_type", type);
        out.put("max_concurrent_requests", options.maxQueue());
        out.put("max_input_length", i.maxInputLength());
        out.put("max_batch_tokens", options.maxBatchTokens());
        out.put("max_batch_requests", null);
        out.put("max_client_batch_size", options.maxClientBatchSize());
        out.put("auto_truncate", false);
        out.put("tokenization_workers", Runtime.getRuntime().availableProcessors());
        out.put("version", VERSION);
        out.put("sha", null);
        out.put("docker_label", null);
        return out;
    }

    // ---- shared request handling ----

    /** A string or a non-empty list of strings. */
    private List<String> texts(JsonNode req, String field) {
        JsonNode in = req.get(field);
        List<String> out = new ArrayList<>();
        if (in != null && in.isTextual()) {
            out.add(in.asText());
        } else if (in != null && in.isArray()) {
            for (JsonNode t : in) {
                if (!t.isTextual()) {
                    throw new ApiException(422, "validation", "`" + field + "` must be a string or a list of strings"
                            + (t.isArray() ? " (token ids as inputs are not supported)" : ""));
                }
                out.add(t.asText());
            }
        } else {
            throw new ApiException(422, "validation", "`" + field + "` must be a string or a list of strings");
        }
        if (out.isEmpty()) throw new ApiException(400, "empty", "`" + field + "` cannot be empty");
        checkCount(out.size());
        return out;
    }

    private void checkCount(int n) {
        if (n > options.maxClientBatchSize()) {
            throw new ApiException(413, "validation", "batch size " + n + " > maximum allowed batch size "
                    + options.maxClientBatchSize());
        }
    }

    private static boolean bool(JsonNode req, String field, boolean dflt) {
        JsonNode v = req.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw new ApiException(422, "validation", "`" + field + "` must be true or false");
        return v.booleanValue();
    }

    private void requireClassifier(String route) {
        if (service.info().kind() == InferenceService.ModelKind.EMBEDDING) {
            throw new ApiException(424, "backend", route + " needs a sequence-classification model; this is an embedding model");
        }
    }

    /** Checks input lengths against the model's limit; returns the token cost of the request. */
    private int checkLengths(List<Input> inputs, boolean truncate) {
        int max = service.info().maxInputLength();
        int total = 0;
        for (Input in : inputs) {
            int n = in.fullTokens();
            if (n > max && !truncate) {
                throw new ApiException(422, "validation", "`inputs` must have less than " + max
                        + " tokens. Given: " + n + " (set \"truncate\": true to cut it)");
            }
            total += Math.min(n, max);
        }
        return total;
    }

    /** Runs model work through the batcher with the request timeout and maps its failures to answers. */
    private <I, R> List<R> runModel(Object key, List<I> inputs, int tokens, Function<List<I>, List<R>> run)
            throws InterruptedException {
        CompletableFuture<List<R>> f;
        try {
            f = batcher.submit(key, inputs, tokens, run);
        } catch (RejectedExecutionException e) {
            metrics.rejected();
            throw new ApiException(429, "overloaded", "Model is overloaded: " + e.getMessage(), 1);
        }
        try {
            return batcher.await(f, options.requestTimeoutMs());
        } catch (TimeoutException e) {
            throw new ApiException(503, "overloaded", "the request timed out after " + options.requestTimeoutMs()
                    + " ms", 1);
        } catch (UnsupportedOperationException e) {
            throw new ApiException(424, "backend", e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new ApiException(422, "validation", e.getMessage());
        }
    }
}
