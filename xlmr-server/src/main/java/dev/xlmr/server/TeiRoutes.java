package dev.xlmr.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import dev.xlmr.pipelines.FillMaskPipeline;
import dev.xlmr.pipelines.QuestionAnsweringPipeline;
import dev.xlmr.pipelines.TokenClassificationPipeline;
import dev.xlmr.pipelines.ZeroShotClassificationPipeline;
import dev.xlmr.server.InferenceService.EmbedInput;
import dev.xlmr.server.InferenceService.Input;
import dev.xlmr.server.InferenceService.ModelInfo;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * The text-embeddings-inference routes ({@code /embed}, {@code /embed_all}, {@code /embed_sparse}, {@code /predict}, {@code /rerank},
 * {@code /similarity}, {@code /tokenize}, {@code /decode}, {@code /info}, {@code /health}, {@code /metrics},
 * {@code GET /} and {@code /ping}, {@code POST /} and {@code /invocations}), OpenAI's {@code /v1/embeddings}
 * (also at {@code /embeddings}) and the task routes of the pipelines ({@code /fill-mask}, {@code /ner},
 * {@code /qa}, {@code /zero-shot}), with TEI's request and answer shapes, headers and error codes: 400 empty
 * input, 413 too large a body, 422 invalid input, too many inputs or too long an input (with truncate false),
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

    /**
     * What TEI reports of a request in its {@code x-*} headers: characters, tokens and where the time went.
     * The model thread stamps it when a batch with the request's inputs runs.
     */
    static final class Timing {
        final long start = System.nanoTime();
        long tokenizationNanos;
        long submitted;
        long firstBatch = Long.MAX_VALUE;
        long lastBatchEnd;
        int characters;
        int tokens;
        int inputs;
        boolean embedding = true;

        synchronized long queueNanos() {
            return firstBatch == Long.MAX_VALUE ? 0 : Math.max(0, firstBatch - submitted);
        }

        synchronized long inferenceNanos() {
            return firstBatch == Long.MAX_VALUE ? 0 : lastBatchEnd - firstBatch;
        }

        synchronized void ran(long from, long to) {
            firstBatch = Math.min(firstBatch, from);
            lastBatchEnd = Math.max(lastBatchEnd, to);
        }

        synchronized void headers(Exchange ex) {
            long now = System.nanoTime();
            long queue = queueNanos();
            long inference = inferenceNanos();
            ex.header("x-compute-type", "cpu");
            ex.header("x-compute-time", Long.toString(ms(now - start)));
            ex.header("x-compute-characters", Integer.toString(characters));
            ex.header("x-compute-tokens", Integer.toString(tokens));
            ex.header("x-total-time", Long.toString(ms(now - start)));
            ex.header("x-tokenization-time", Long.toString(ms(tokenizationNanos)));
            ex.header("x-queue-time", Long.toString(ms(queue)));
            ex.header("x-inference-time", Long.toString(ms(inference)));
        }

        private static long ms(long nanos) {
            return TimeUnit.NANOSECONDS.toMillis(nanos);
        }
    }

    /** An input on its way through the batcher, with the timing of its request. */
    private record Job<I>(I input, Timing timing) {}

    TeiRoutes(InferenceService service, DynamicBatcher batcher, ServerMetrics metrics, ServerOptions options) {
        this.service = service;
        this.batcher = batcher;
        this.metrics = metrics;
        this.options = options;
    }

    void register(Map<String, XlmrServer.Route> routes) {
        routes.put("POST /embed", this::embed);
        routes.put("POST /embed_all", this::embedAll);
        routes.put("POST /embed_sparse", this::embedSparse);
        routes.put("POST /embed_colbert", this::embedColbert);
        routes.put("POST /predict", this::predict);
        routes.put("POST /rerank", this::rerank);
        routes.put("POST /similarity", this::similarity);
        routes.put("POST /tokenize", this::tokenize);
        routes.put("POST /decode", this::decode);
        routes.put("POST /v1/embeddings", this::openAiEmbeddings);
        routes.put("POST /embeddings", this::openAiEmbeddings);
        routes.put("POST /fill-mask", this::fillMask);
        routes.put("POST /ner", this::ner);
        routes.put("POST /qa", this::qa);
        routes.put("POST /zero-shot", this::zeroShot);
        routes.put("GET /info", ex -> ex.sendJson(200, info()));
        routes.put("GET /health", this::health);
        routes.put("GET /", this::health);
        routes.put("GET /ping", this::health);
        routes.put("GET /metrics", ex -> ex.sendText(200, metrics.scrape(), ServerMetrics.contentType()));
        // TEI's default route (and SageMaker's /invocations): the model's own task
        XlmrServer.Route main = switch (service.info().kind()) {
            case EMBEDDING -> this::embed;
            case CLASSIFIER -> this::predict;
            case RERANKER -> this::rerank;
        };
        routes.put("POST /", main);
        routes.put("POST /invocations", main);
    }

    /** TEI's request count: the route has read inputs that are one input ("single") or a list ("batch"). */
    private void teiRequest(Exchange ex, boolean single) {
        String method = single ? "single" : "batch";
        ex.teiMethod(method);
        metrics.teiCount("te_request_count", "method", method);
    }

    /** As TEI's embedding routes: a string or a token-id list is one input; other JSON shapes fail before the count. */
    private void teiEmbedRequest(Exchange ex, JsonNode in) {
        if (in == null || !(in.isTextual() || in.isArray())) return;
        teiRequest(ex, in.isTextual() || !in.isEmpty() && in.get(0).isNumber());
    }

    /** The x-* headers of a successful request, and its TEI metrics. */
    private void finish(Exchange ex, Timing t) {
        t.headers(ex);
        if (ex.teiMethod() != null) {
            long total = System.nanoTime() - t.start;
            metrics.teiSuccess(ex.teiMethod(), t.embedding, t.inputs, total / 1e9, t.tokenizationNanos / 1e9,
                    t.queueNanos() / 1e9, t.inferenceNanos() / 1e9);
        }
    }

    /** The name of the model in OpenAI's answers and {@code /info}. */
    String servedModelName() {
        return options.servedModelName() != null ? options.servedModelName() : service.info().modelId();
    }

    // ---- embeddings ----

    /** The options the embedding routes share. */
    /**
     * The options the embedding routes share; {@code windows}: long inputs through overlapping windows of
     * {@code overlap} shared tokens (-1: a quarter of the window) instead of truncation or a 422.
     */
    private record EmbedRequest(List<EmbedInput> inputs, boolean truncate, boolean left, String promptName,
                                boolean normalize, Integer dimensions, boolean windows, int overlap) {}

    private EmbedRequest embedRequest(JsonNode req, String field, int maxInputs, boolean normalizeByDefault) {
        List<EmbedInput> inputs = embedInputs(req, field, maxInputs);
        JsonNode mode = req.get("long_inputs");
        boolean windows = false;
        if (mode != null && !mode.isNull()) {
            String m = mode.isTextual() ? mode.asText().toLowerCase(Locale.ROOT) : "";
            if (!m.equals("windows") && !m.equals("truncate")) {
                throw ApiException.invalid("long_inputs", "`long_inputs` must be \"truncate\" or \"windows\"");
            }
            windows = m.equals("windows");
        }
        int overlap = -1;
        JsonNode o = req.get("overlap");
        if (o != null && !o.isNull()) {
            if (!o.isIntegralNumber() || !o.canConvertToInt() || o.intValue() < 0) {
                throw ApiException.invalid("overlap", "`overlap` must be a non-negative integer");
            }
            overlap = o.intValue();
        }
        boolean truncate = bool(req, "truncate", options.autoTruncate()) && !windows;
        return new EmbedRequest(inputs, truncate, truncateLeft(req), promptName(req),
                bool(req, "normalize", normalizeByDefault), dimensions(req), windows, overlap);
    }

    private void embed(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        teiEmbedRequest(ex, req.get("inputs"));
        EmbedRequest r = embedRequest(req, "inputs", options.maxClientBatchSize(), true);
        Timing t = new Timing();
        List<float[]> vectors = bool(req, "late_chunking", false) ? lateChunks(r, t) : pooled(r, t);
        finish(ex, t);
        ex.sendJson(200, vectors);
    }

    /** Late chunking: the request's inputs are the chunks of one document; one vector per chunk. */
    private List<float[]> lateChunks(EmbedRequest r, Timing t) throws InterruptedException {
        if (r.windows()) {
            throw ApiException.invalid("long_inputs", "`late_chunking` runs long documents through windows already");
        }
        List<String> chunks = new ArrayList<>();
        for (EmbedInput in : r.inputs()) {
            if (in.text() == null) throw ApiException.invalid("inputs", "`late_chunking` takes texts, not token ids");
            chunks.add(in.text());
            t.characters += in.characters();
        }
        boolean normalize = r.normalize();
        List<List<float[]>> out = runModel(new Work("late_chunking/" + r.overlap() + "/" + r.promptName(), normalize, false),
                List.of(chunks), t, batch -> service.lateChunking(batch, r.promptName(), normalize, r.overlap()));
        return cut(out.getFirst(), r);
    }

    /** Pooled embeddings of a request, cut to its {@code dimensions} (renormalised when it normalises), as TEI. */
    private List<float[]> pooled(EmbedRequest r, Timing t) throws InterruptedException {
        List<Input> inputs = prepare(r, t);
        boolean normalize = r.normalize();
        List<float[]> vectors = r.windows()
                ? encoded(r, inputs, t, dev.xlmr.pipelines.EmbeddingPipeline.Output.DENSE).stream()
                        .map(dev.xlmr.pipelines.MultiEmbedding::dense).toList()
                : runModel(new Work("embed", normalize, false), inputs, t,
                        batch -> Arrays.asList(service.embed(batch, Pooling.AUTO, normalize)));
        return cut(vectors, r);
    }

    /** One output of prepared inputs through {@link InferenceService#encode} (windows when the request asks). */
    private List<dev.xlmr.pipelines.MultiEmbedding> encoded(EmbedRequest r, List<Input> inputs, Timing t,
            dev.xlmr.pipelines.EmbeddingPipeline.Output output) throws InterruptedException {
        String key = "encode/" + output + "/" + r.windows() + "/" + r.overlap() + "/" + r.promptName();
        return runModel(new Work(key, r.normalize(), false), inputs, t, batch -> service.encode(batch,
                java.util.EnumSet.of(output), r.normalize(), r.windows(), r.overlap(), r.promptName()));
    }

    /** The vectors cut to the request's {@code dimensions}, renormalised when it normalises (TEI). */
    private static List<float[]> cut(List<float[]> vectors, EmbedRequest r) {
        if (r.dimensions() == null) return vectors;
        List<float[]> out = new ArrayList<>(vectors.size());
        for (float[] v : vectors) {
            if (r.dimensions() > v.length) {
                throw new ApiException(422, "validation", "`dimensions` should be smaller than the maximum embedding "
                        + "dimension (" + v.length + "), got " + r.dimensions(), 0, "dimensions");
            }
            float[] cut = Arrays.copyOf(v, r.dimensions());
            if (r.normalize()) normalize(cut);
            out.add(cut);
        }
        return out;
    }

    /** L2 normalisation in double, as TEI after a Matryoshka cut. */
    static void normalize(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        if (s == 0) return;
        float scale = (float) (1.0 / Math.sqrt(s));
        for (int i = 0; i < v.length; i++) v[i] *= scale;
    }

    private void embedAll(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        teiEmbedRequest(ex, req.get("inputs"));
        EmbedRequest r = embedRequest(req, "inputs", options.maxClientBatchSize(), false);
        Timing t = new Timing();
        List<Input> inputs = prepare(r, t);
        List<float[][]> vectors = runModel(new Work("embed_all", false, false), inputs, t,
                batch -> Arrays.asList(service.embedAll(batch)));
        finish(ex, t);
        ex.sendJson(200, vectors);
    }

    /** TEI's {@code /embed_sparse}: per input, [{"index": token id, "value": weight}, ...], ids ascending. */
    private void embedSparse(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        teiEmbedRequest(ex, req.get("inputs"));
        EmbedRequest r = embedRequest(req, "inputs", options.maxClientBatchSize(), false);
        Timing t = new Timing();
        List<Input> inputs = prepare(r, t);
        List<dev.xlmr.pipelines.SparseEmbedding> vectors = r.windows()
                ? encoded(r, inputs, t, dev.xlmr.pipelines.EmbeddingPipeline.Output.SPARSE).stream()
                        .map(dev.xlmr.pipelines.MultiEmbedding::sparse).toList()
                : runModel(new Work("embed_sparse", false, false), inputs, t, service::embedSparse);
        List<List<Map<String, Object>>> out = new ArrayList<>(vectors.size());
        for (dev.xlmr.pipelines.SparseEmbedding v : vectors) {
            List<Map<String, Object>> entries = new ArrayList<>(v.size());
            new TreeMap<>(v.toMap()).forEach((id, w) -> {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("index", id);
                e.put("value", w);
                entries.add(e);
            });
            out.add(entries);
        }
        finish(ex, t);
        ex.sendJson(200, out);
    }

    /** BGE-M3's ColBERT vectors: per input one L2-normalised vector per token after {@code <s>}. */
    private void embedColbert(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        EmbedRequest r = embedRequest(req, "inputs", options.maxClientBatchSize(), false);
        Timing t = new Timing();
        List<Input> inputs = prepare(r, t);
        List<float[][]> out = encoded(r, inputs, t, dev.xlmr.pipelines.EmbeddingPipeline.Output.COLBERT).stream()
                .map(dev.xlmr.pipelines.MultiEmbedding::colbert).toList();
        t.headers(ex);
        ex.sendJson(200, out);
    }

    private void similarity(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        JsonNode in = req.get("inputs");
        if (in == null || !in.isObject()) {
            throw ApiException.invalid("inputs", "`inputs` must be {\"source_sentence\": string, \"sentences\": [string, ...]}");
        }
        teiRequest(ex, false);
        JsonNode source = in.get("source_sentence");
        if (source == null || !source.isTextual()) {
            throw ApiException.invalid("inputs", "`inputs.source_sentence` must be a string");
        }
        JsonNode sentences = in.get("sentences");
        if (sentences == null || !sentences.isArray()) {
            throw ApiException.invalid("inputs", "`inputs.sentences` must be a list of strings");
        }
        if (sentences.isEmpty()) throw new ApiException(400, "empty", "`inputs.sentences` cannot be empty");
        checkCount(sentences.size() + 1, options.maxClientBatchSize());
        List<EmbedInput> inputs = new ArrayList<>();
        inputs.add(text(source, "inputs.source_sentence"));
        for (JsonNode s : sentences) {
            if (!s.isTextual()) throw ApiException.invalid("inputs", "`inputs.sentences` must be a list of strings");
            inputs.add(text(s, "inputs.sentences"));
        }
        JsonNode p = req.get("parameters");
        if (p != null && !p.isNull() && !p.isObject()) throw ApiException.invalid("parameters", "`parameters` must be an object");
        JsonNode params = p == null || p.isNull() ? Exchange.JSON.createObjectNode() : p;
        EmbedRequest r = new EmbedRequest(inputs, bool(params, "truncate", options.autoTruncate()), truncateLeft(params),
                promptName(params), false, null, false, -1);
        Timing t = new Timing();
        List<float[]> v = pooled(r, t);
        List<Float> scores = new ArrayList<>();
        for (int i = 1; i < v.size(); i++) scores.add((float) EmbeddingPipeline.cosine(v.get(0), v.get(i)));
        finish(ex, t);
        ex.sendJson(200, scores);
    }

    private void openAiEmbeddings(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        teiEmbedRequest(ex, req.get("input"));
        JsonNode f = req.get("encoding_format");
        String format = f == null || f.isNull() ? "float" : f.isTextual() ? f.asText() : "";
        if (!format.equals("float") && !format.equals("base64")) {
            throw ApiException.invalid("encoding_format", "`encoding_format` must be \"float\" or \"base64\", got " + f);
        }
        // OpenAI's limit, not TEI's client batch size: clients send hundreds at once and the batcher splits them
        EmbedRequest r = embedRequest(req, "input", Math.max(options.maxClientBatchSize(), ServerOptions.OPENAI_MAX_INPUTS), true);
        if (!r.normalize()) throw ApiException.invalid("normalize", "OpenAI embeddings are always normalized");
        Timing t = new Timing();
        List<float[]> vectors = pooled(r, t);
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
        body.put("model", servedModelName());
        body.put("usage", Map.of("prompt_tokens", t.tokens, "total_tokens", t.tokens));
        finish(ex, t);
        ex.sendJson(200, body);
    }

    /** Tokenizes on the request thread (once): 424 for a model that does not embed, 422 for invalid inputs. */
    private List<Input> prepare(EmbedRequest r, Timing t) {
        long start = System.nanoTime();
        List<Input> inputs;
        try {
            inputs = service.prepare(r.inputs(), r.promptName(), r.truncate(), r.left());
        } catch (UnsupportedOperationException e) {
            throw new ApiException(424, "backend", e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new ApiException(422, e.getMessage().startsWith("token id") ? "tokenizer" : "validation", e.getMessage());
        }
        t.tokenizationNanos = System.nanoTime() - start;
        t.inputs = inputs.size();
        for (EmbedInput in : r.inputs()) t.characters += in.characters();
        t.tokens = checkLengths(inputs, r.truncate() || r.windows());
        return inputs;
    }

    /**
     * TEI's inputs: a string, token ids, or a list of strings and token-id lists. An empty string or list is
     * 400 (TEI's "Empty"); more than {@code maxInputs} is 422 with TEI's message.
     */
    private List<EmbedInput> embedInputs(JsonNode req, String field, int maxInputs) {
        JsonNode in = req.get(field);
        String shape = "`" + field + "` must be a string, a list of token ids, or a list of strings or of token-id lists";
        List<EmbedInput> out = new ArrayList<>();
        if (in == null || in.isNull()) {
            throw ApiException.invalid(field, shape);
        } else if (in.isTextual()) {
            out.add(text(in, field));
        } else if (in.isArray()) {
            if (in.isEmpty()) throw new ApiException(400, "empty", "`" + field + "` cannot be empty", 0, field);
            if (in.get(0).isNumber()) {
                out.add(ids(in, field, shape));
            } else {
                checkCount(in.size(), maxInputs);
                for (JsonNode item : in) {
                    if (item.isTextual()) out.add(text(item, field));
                    else if (item.isArray()) out.add(ids(item, field, shape));
                    else throw ApiException.invalid(field, shape);
                }
            }
        } else {
            throw ApiException.invalid(field, shape);
        }
        return out;
    }

    private static EmbedInput text(JsonNode t, String field) {
        if (t.asText().isEmpty()) throw new ApiException(400, "empty", "`" + field + "` cannot be empty", 0, field);
        return EmbedInput.of(t.asText());
    }

    private static EmbedInput ids(JsonNode a, String field, String shape) {
        if (a.isEmpty()) throw new ApiException(400, "empty", "`" + field + "` cannot be empty", 0, field);
        int[] ids = new int[a.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode v = a.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
                throw ApiException.invalid(field, shape + " (token ids are integers >= 0, got " + v + ")");
            }
            ids[i] = v.intValue();
        }
        return EmbedInput.of(ids);
    }

    /** TEI's {@code prompt_name}: a prompt of the folder's config_sentence_transformers.json, or null. */
    private static String promptName(JsonNode req) {
        JsonNode v = req.get("prompt_name");
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw ApiException.invalid("prompt_name", "`prompt_name` must be a string");
        return v.asText();
    }

    /** TEI's {@code truncation_direction}: Right (the default) or Left, in either case. */
    private static boolean truncateLeft(JsonNode req) {
        JsonNode v = req.get("truncation_direction");
        if (v == null || v.isNull()) return false;
        String s = v.isTextual() ? v.asText() : "";
        if (s.equals("Left") || s.equals("left")) return true;
        if (s.equals("Right") || s.equals("right")) return false;
        throw ApiException.invalid("truncation_direction", "`truncation_direction` must be \"Left\" or \"Right\", got " + v);
    }

    /** OpenAI's and TEI's {@code dimensions}: a positive integer, or null for the whole vector. */
    private static Integer dimensions(JsonNode req) {
        JsonNode v = req.get("dimensions");
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
            throw ApiException.invalid("dimensions", "`dimensions` must be a positive integer, got " + v);
        }
        if (v.intValue() == 0) throw ApiException.invalid("dimensions", "`dimensions` should be positive");
        return v.intValue();
    }

    /** Little-endian float32 bytes in base64, as OpenAI's encoding_format=base64. */
    static String base64(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return Base64.getEncoder().encodeToString(b.array());
    }

    // ---- classification ----

    private List<Input> preparePairs(List<Pair> pairs, boolean truncate, Timing t) {
        long start = System.nanoTime();
        List<Input> inputs;
        try {
            inputs = service.preparePairs(pairs.stream().map(Pair::text).toList(), pairs.stream().map(Pair::pair).toList(), truncate);
        } catch (UnsupportedOperationException e) {
            throw new ApiException(424, "backend", e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new ApiException(422, "validation", e.getMessage());
        }
        t.tokenizationNanos = System.nanoTime() - start;
        t.inputs = inputs.size();
        t.embedding = false;
        for (Pair p : pairs) {
            t.characters += p.text().codePointCount(0, p.text().length()) + (p.pair() == null ? 0 : p.pair().codePointCount(0, p.pair().length()));
        }
        t.tokens = checkLengths(inputs, truncate);
        return inputs;
    }

    /** Pairs are cut from the end only (the pipelines' truncation); Left is refused rather than ignored. */
    private static void rightOnly(JsonNode req) {
        if (truncateLeft(req)) {
            throw ApiException.invalid("truncation_direction", "`truncation_direction` Left is supported on the embedding "
                    + "routes only; classification and re-ranking cut from the right");
        }
    }

    private void predict(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        JsonNode in = req.get("inputs");
        boolean truncate = bool(req, "truncate", options.autoTruncate());
        boolean raw = bool(req, "raw_scores", false);
        rightOnly(req);
        if (in != null && (in.isTextual() || in.isArray())) {
            teiRequest(ex, in.isTextual() || !in.isEmpty() && in.get(0).isTextual());
        }
        List<Pair> inputs = new ArrayList<>();
        boolean single;
        if (in != null && in.isTextual()) {
            single = true;
            inputs.add(new Pair(in.asText(), null));
        } else if (in != null && in.isArray() && !in.isEmpty() && in.get(0).isTextual()) {
            single = true;
            if (in.size() > 2 || in.size() == 2 && !in.get(1).isTextual()) {
                throw invalidPredict();
            }
            inputs.add(new Pair(in.get(0).asText(), in.size() == 2 ? in.get(1).asText() : null));
        } else if (in != null && in.isArray()) {
            single = false;
            if (in.isEmpty()) throw new ApiException(400, "empty", "`inputs` cannot be empty");
            checkCount(in.size(), options.maxClientBatchSize());
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
        for (Pair p : inputs) {
            if (p.text().isEmpty() && (p.pair() == null || p.pair().isEmpty())) {
                throw new ApiException(400, "empty", "`inputs` cannot be empty");
            }
        }
        requireClassifier("predict");
        Timing t = new Timing();
        List<Input> prepared = preparePairs(inputs, truncate, t);
        List<List<Prediction>> out = runModel(new Work("predict", false, raw), prepared, t, batch -> service.classify(batch, raw));
        finish(ex, t);
        ex.sendJson(200, single ? out.getFirst() : out);
    }

    private static ApiException invalidPredict() {
        return ApiException.invalid("inputs",
                "inputs must be a string, a pair [text, text_pair], or a list of [text] or [text, text_pair]");
    }

    private void rerank(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        JsonNode q = req.get("query");
        if (q == null || !q.isTextual()) throw ApiException.invalid("query", "query must be a string");
        JsonNode textsNode = req.get("texts");
        if (textsNode == null || !textsNode.isArray()) throw ApiException.invalid("texts", "`texts` must be a list of strings");
        teiRequest(ex, false);
        if (textsNode.isEmpty()) throw new ApiException(400, "empty", "`texts` cannot be empty");
        checkCount(textsNode.size(), options.maxClientBatchSize());
        List<String> texts = new ArrayList<>();
        for (JsonNode t : textsNode) {
            if (!t.isTextual()) throw ApiException.invalid("texts", "`texts` must be a list of strings");
            texts.add(t.asText());
        }
        boolean truncate = bool(req, "truncate", options.autoTruncate());
        boolean raw = bool(req, "raw_scores", false);
        boolean returnText = bool(req, "return_text", false);
        rightOnly(req);
        if (service.info().kind() != InferenceService.ModelKind.RERANKER) {
            throw new ApiException(424, "backend", "rerank needs a re-ranker model (a sequence classifier with one "
                    + "label); this model is a " + service.info().kind().name().toLowerCase(Locale.ROOT));
        }
        String query = q.asText();
        Timing t = new Timing();
        List<Input> pairs = preparePairs(texts.stream().map(x -> new Pair(query, x)).toList(), truncate, t);
        List<Float> scores = runModel(new Work("rerank", false, raw), pairs, t, batch -> {
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
        finish(ex, t);
        ex.sendJson(200, ranks);
    }

    // ---- tokens ----

    private void tokenize(Exchange ex) {
        JsonNode req = ex.json();
        List<String> texts = texts(req, "inputs", options.maxClientBatchSize());
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
            checkCount(ids.size(), options.maxClientBatchSize());
            for (JsonNode seq : ids) sequences.add(intArray(seq));
        } else {
            sequences.add(intArray(ids));
        }
        List<String> out = new ArrayList<>();
        try {
            for (int[] s : sequences) out.add(service.decode(s, skip));
        } catch (IllegalArgumentException e) {
            throw new ApiException(422, "tokenizer", e.getMessage());
        }
        ex.sendJson(200, out);
    }

    private static int[] intArray(JsonNode a) {
        if (!a.isArray()) throw ApiException.invalid("ids", "ids must be lists of integers");
        if (a.isEmpty()) throw new ApiException(400, "empty", "`input_ids` cannot be empty");
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = a.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw ApiException.invalid("ids", "ids must be integers, got " + v);
            }
            out[i] = v.intValue();
        }
        return out;
    }

    // ---- the pipelines' task routes ----

    /** A task's inputs: a value or a list of them (the answer is then a list). */
    private record TaskInputs(List<JsonNode> items, boolean single) {}

    private TaskInputs taskInputs(JsonNode req) {
        JsonNode in = req.get("inputs");
        if (in == null || in.isNull()) throw ApiException.invalid("inputs", "`inputs` is required");
        if (!in.isArray()) return new TaskInputs(List.of(in), true);
        if (in.isEmpty()) throw new ApiException(400, "empty", "`inputs` cannot be empty");
        checkCount(in.size(), options.maxClientBatchSize());
        List<JsonNode> items = new ArrayList<>();
        in.forEach(items::add);
        return new TaskInputs(items, false);
    }

    private static List<String> taskTexts(TaskInputs in) {
        List<String> out = new ArrayList<>();
        for (JsonNode t : in.items()) {
            if (!t.isTextual()) throw ApiException.invalid("inputs", "`inputs` must be a string or a list of strings");
            if (t.asText().isEmpty()) throw new ApiException(400, "empty", "`inputs` cannot be empty");
            out.add(t.asText());
        }
        return out;
    }

    private static JsonNode parameters(JsonNode req) {
        JsonNode p = req.get("parameters");
        if (p == null || p.isNull()) return Exchange.JSON.createObjectNode();
        if (!p.isObject()) throw ApiException.invalid("parameters", "`parameters` must be an object");
        return p;
    }

    private static int integer(JsonNode params, String field, int dflt) {
        JsonNode v = params.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw ApiException.invalid(field, "`" + field + "` must be an integer");
        return v.intValue();
    }

    private static List<String> strings(JsonNode params, String field) {
        JsonNode v = params.get(field);
        if (v == null || v.isNull()) return null;
        if (v.isTextual()) return List.of(v.asText());
        List<String> out = new ArrayList<>();
        if (v.isArray()) {
            for (JsonNode s : v) {
                if (!s.isTextual()) throw ApiException.invalid(field, "`" + field + "` must be a list of strings");
                out.add(s.asText());
            }
            return out;
        }
        throw ApiException.invalid(field, "`" + field + "` must be a list of strings");
    }

    private static String string(JsonNode params, String field, String dflt) {
        JsonNode v = params.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isTextual()) throw ApiException.invalid(field, "`" + field + "` must be a string");
        return v.asText();
    }

    /** The pipeline of a task, 424 when the model has not the head for it. */
    private <P> P task(String name, Class<P> type) {
        try {
            return type.cast(service.taskPipeline(name));
        } catch (UnsupportedOperationException e) {
            throw new ApiException(424, "backend", e.getMessage());
        }
    }

    /** Options of the pipelines, whose constructors check them: 422 with their message. */
    private static <T> T taskOptions(java.util.function.Supplier<T> make) {
        try {
            return make.get();
        } catch (IllegalArgumentException e) {
            throw new ApiException(422, "validation", e.getMessage());
        }
    }

    /** Runs a task request on the model thread, alone (its batches are the pipeline's own). */
    private Object runTask(Exchange ex, List<String> texts, Function<Object, Object> run) throws InterruptedException {
        Timing t = new Timing();
        for (String s : texts) t.characters += s.codePointCount(0, s.length());
        List<Object> out = runModel(null, List.of((Object) texts), t, batch -> List.of(run.apply(batch.getFirst())));
        finish(ex, t);
        return out.getFirst();
    }

    private void fillMask(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        TaskInputs in = taskInputs(req);
        List<String> texts = taskTexts(in);
        JsonNode params = parameters(req);
        FillMaskPipeline.Options o = taskOptions(() -> new FillMaskPipeline.Options(integer(params, "top_k", 5),
                strings(params, "targets")));
        FillMaskPipeline p = task("fill-mask", FillMaskPipeline.class);
        Object out = runTask(ex, texts, x -> {
            List<Object> all = new ArrayList<>();
            for (var perMask : p.fillAll(texts, o)) {
                List<Object> masks = new ArrayList<>();
                for (var preds : perMask) masks.add(preds.stream().map(FillMaskPipeline.Prediction::toMap).toList());
                all.add(masks.size() == 1 ? masks.getFirst() : masks);
            }
            return all;
        });
        ex.sendJson(200, in.single() ? ((List<?>) out).getFirst() : out);
    }

    private void ner(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        TaskInputs in = taskInputs(req);
        List<String> texts = taskTexts(in);
        JsonNode params = parameters(req);
        TokenClassificationPipeline.Options o = taskOptions(() -> new TokenClassificationPipeline.Options(
                TokenClassificationPipeline.Aggregation.parse(string(params, "aggregation_strategy", "none")),
                strings(params, "ignore_labels"), integer(params, "stride", -1)));
        TokenClassificationPipeline p = task("ner", TokenClassificationPipeline.class);
        Object out = runTask(ex, texts, x -> {
            List<Object> all = new ArrayList<>();
            var res = p.recognizeAll(texts, o);
            for (int i = 0; i < res.size(); i++) {
                String text = texts.get(i);
                all.add(res.get(i).stream().map(e -> e.toMap(text)).toList());
            }
            return all;
        });
        ex.sendJson(200, in.single() ? ((List<?>) out).getFirst() : out);
    }

    private void qa(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        TaskInputs in = taskInputs(req);
        List<String> questions = new ArrayList<>();
        List<String> contexts = new ArrayList<>();
        for (JsonNode item : in.items()) {
            JsonNode q = item.get("question");
            JsonNode c = item.get("context");
            if (!item.isObject() || q == null || !q.isTextual() || c == null || !c.isTextual()) {
                throw ApiException.invalid("inputs", "`inputs` must be {\"question\": string, \"context\": string} or a list of them");
            }
            if (q.asText().isEmpty() || c.asText().isEmpty()) throw new ApiException(400, "empty", "question and context cannot be empty");
            questions.add(q.asText());
            contexts.add(c.asText());
        }
        JsonNode params = parameters(req);
        QuestionAnsweringPipeline.Options d = QuestionAnsweringPipeline.Options.defaults();
        QuestionAnsweringPipeline.Options o = taskOptions(() -> new QuestionAnsweringPipeline.Options(
                integer(params, "top_k", d.topK()), integer(params, "doc_stride", d.docStride()),
                integer(params, "max_seq_len", d.maxSeqLen()), integer(params, "max_question_len", d.maxQuestionLen()),
                integer(params, "max_answer_len", d.maxAnswerLen()),
                bool(params, "handle_impossible_answer", d.handleImpossibleAnswer()),
                bool(params, "align_to_words", d.alignToWords())));
        QuestionAnsweringPipeline p = task("qa", QuestionAnsweringPipeline.class);
        List<String> all = new ArrayList<>(questions);
        all.addAll(contexts);
        Object out = runTask(ex, all, x -> {
            List<Object> answers = new ArrayList<>();
            var res = p.answerAll(questions, contexts, o);
            for (int i = 0; i < res.size(); i++) {
                String c = contexts.get(i);
                List<Map<String, Object>> a = res.get(i).stream().map(r -> r.toMap(c)).toList();
                answers.add(a.size() == 1 ? a.getFirst() : a);
            }
            return answers;
        });
        ex.sendJson(200, in.single() ? ((List<?>) out).getFirst() : out);
    }

    private void zeroShot(Exchange ex) throws Exception {
        JsonNode req = ex.json();
        TaskInputs in = taskInputs(req);
        List<String> texts = taskTexts(in);
        JsonNode params = parameters(req);
        List<String> labels = strings(params, "candidate_labels");
        if (labels == null || labels.isEmpty()) {
            throw ApiException.invalid("candidate_labels", "`parameters.candidate_labels` must be a non-empty list of strings");
        }
        ZeroShotClassificationPipeline.Options o = taskOptions(() -> new ZeroShotClassificationPipeline.Options(
                string(params, "hypothesis_template", ZeroShotClassificationPipeline.DEFAULT_TEMPLATE),
                bool(params, "multi_label", false)));
        ZeroShotClassificationPipeline p = task("zero-shot", ZeroShotClassificationPipeline.class);
        Object out = runTask(ex, texts, x -> p.classifyAll(texts, labels, o).stream().map(r -> (Object) r.toMap()).toList());
        ex.sendJson(200, in.single() ? ((List<?>) out).getFirst() : out);
    }

    // ---- info ----

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
        out.put("served_model_name", servedModelName());
        out.put("model_type", type);
        out.put("max_concurrent_requests", options.maxQueue());
        out.put("max_input_length", i.maxInputLength());
        out.put("max_batch_tokens", options.maxBatchTokens());
        out.put("max_batch_requests", null);
        out.put("max_client_batch_size", options.maxClientBatchSize());
        out.put("auto_truncate", options.autoTruncate());
        out.put("tokenization_workers", Runtime.getRuntime().availableProcessors());
        out.put("version", VERSION);
        out.put("sha", null);
        out.put("docker_label", null);
        return out;
    }

    // ---- shared request handling ----

    /** A string or a non-empty list of strings. */
    private List<String> texts(JsonNode req, String field, int maxInputs) {
        JsonNode in = req.get(field);
        List<String> out = new ArrayList<>();
        if (in != null && in.isTextual()) {
            out.add(in.asText());
        } else if (in != null && in.isArray()) {
            if (in.isEmpty()) throw new ApiException(400, "empty", "`" + field + "` cannot be empty");
            checkCount(in.size(), maxInputs);
            for (JsonNode t : in) {
                if (!t.isTextual()) throw ApiException.invalid(field, "`" + field + "` must be a string or a list of strings");
                out.add(t.asText());
            }
        } else {
            throw ApiException.invalid(field, "`" + field + "` must be a string or a list of strings");
        }
        for (String s : out) if (s.isEmpty()) throw new ApiException(400, "empty", "`" + field + "` cannot be empty");
        return out;
    }

    /** TEI's client batch limit: 422 Validation with TEI's message. */
    private static void checkCount(int n, int max) {
        if (n > max) {
            throw new ApiException(422, "validation", "batch size " + n + " > maximum allowed batch size " + max);
        }
    }

    private static boolean bool(JsonNode req, String field, boolean dflt) {
        JsonNode v = req.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw ApiException.invalid(field, "`" + field + "` must be true or false");
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
        for (Input in : inputs) metrics.teiInputLength(Math.min(in.fullTokens(), max)); // as TEI: the inputs that pass
        return total;
    }

    /**
     * Runs model work through the batcher with the request timeout and maps its failures to answers. Inputs
     * are submitted in parts of at most the client batch size and the batch token budget, so that a large
     * OpenAI request shares the model with others; a null key runs the inputs alone, as one part.
     */
    private <I, R> List<R> runModel(Object key, List<I> inputs, Timing t, Function<List<I>, List<R>> run)
            throws InterruptedException {
        Function<List<Job<I>>, List<R>> timed = jobs -> {
            long from = System.nanoTime();
            List<R> out = run.apply(jobs.stream().map(Job::input).toList());
            long to = System.nanoTime();
            for (Job<I> j : jobs) j.timing().ran(from, to);
            return out;
        };
        List<List<Job<I>>> parts = new ArrayList<>();
        List<Integer> costs = new ArrayList<>();
        List<Job<I>> part = new ArrayList<>();
        int cost = 0;
        for (I in : inputs) {
            int c = in instanceof Input x ? x.tokens() : 1;
            if (key != null && !part.isEmpty() && (part.size() >= options.maxClientBatchSize() || cost + c > options.maxBatchTokens())) {
                parts.add(part);
                costs.add(cost);
                part = new ArrayList<>();
                cost = 0;
            }
            part.add(new Job<>(in, t));
            cost += c;
        }
        parts.add(part);
        costs.add(cost);
        t.submitted = System.nanoTime();
        List<CompletableFuture<List<R>>> futures = new ArrayList<>();
        try {
            for (int i = 0; i < parts.size(); i++) futures.add(batcher.submit(key, parts.get(i), costs.get(i), timed));
        } catch (RejectedExecutionException e) {
            futures.forEach(batcher::cancel);
            metrics.rejected();
            throw new ApiException(429, "overloaded", "Model is overloaded: " + e.getMessage(), 1);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.requestTimeoutMs());
        List<R> out = new ArrayList<>(inputs.size());
        try {
            for (CompletableFuture<List<R>> f : futures) {
                long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                out.addAll(batcher.await(f, left));
            }
            return out;
        } catch (TimeoutException e) {
            futures.forEach(batcher::cancel);
            throw new ApiException(503, "overloaded", "the request timed out after " + options.requestTimeoutMs() + " ms", 1);
        } catch (UnsupportedOperationException e) {
            futures.forEach(batcher::cancel);
            throw new ApiException(424, "backend", e.getMessage());
        } catch (IllegalArgumentException e) {
            futures.forEach(batcher::cancel);
            throw new ApiException(422, "validation", e.getMessage());
        } catch (InterruptedException | RuntimeException e) {
            futures.forEach(batcher::cancel);
            throw e;
        }
    }
}
