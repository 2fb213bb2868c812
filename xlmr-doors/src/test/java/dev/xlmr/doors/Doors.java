package dev.xlmr.doors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xlmr.cli.Main;
import dev.xlmr.server.LocalInferenceService;
import dev.xlmr.server.ServerOptions;
import dev.xlmr.server.XlmrServer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.collection.Seq;

/**
 * The doors of the cross-door tests and what they share: the fixtures, the CLI run in-process, a real server
 * on a free loopback port, one local Spark session, and float comparisons.
 */
final class Doors {
    /** Doors run the same inputs through the same core: equal within float rounding. */
    static final double TOL = 1e-6;
    /** Against transformers' references, which expected.json rounds to 6 decimals. */
    static final double REF_TOL = 1e-5;

    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private Doors() {}

    // ---- fixtures ----

    static Path testdata(String name) {
        String p = System.getProperty("xlmr.testdata");
        Path dir = p != null ? Path.of(p) : Path.of("..", "testdata");
        if (!Files.isDirectory(dir)) throw new IllegalStateException("testdata folder not found: " + dir.toAbsolutePath());
        return dir.resolve(name).toAbsolutePath();
    }

    static JsonNode expected(String model) {
        try {
            return JSON.readTree(testdata(model).resolve("expected.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Indices of the texts the server takes: TEI's routes answer 400 Empty for a blank input (the server's own tests
     * cover that), where the Java API embeds it; the server doors are compared on the others.
     */
    static List<Integer> served(List<String> texts) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) if (!texts.get(i).isBlank()) out.add(i);
        return out;
    }

    static <T> List<T> pick(List<T> all, List<Integer> at) {
        return at.stream().map(all::get).toList();
    }

    static JsonNode pick(JsonNode array, List<Integer> at) {
        com.fasterxml.jackson.databind.node.ArrayNode out = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
        for (int i : at) out.add(array.get(i));
        return out;
    }

    /** The texts of every case of a fixture's expected.json, in order. */
    static List<String> caseTexts(JsonNode expected) {
        List<String> out = new ArrayList<>();
        for (JsonNode c : expected.get("cases")) {
            if (c.has("text_pairs")) continue;
            for (JsonNode t : c.get("texts")) out.add(t.asText());
        }
        return out;
    }

    /** A fixture folder's model and tokenizer files (no sentence-transformers files, no expected.json) copied to {@code to}. */
    static Path copyModel(String fixture, Path to) {
        try {
            Files.createDirectories(to);
            for (String f : List.of("config.json", "model.safetensors", "sentencepiece.bpe.model", "special_tokens_map.json",
                    "tokenizer.json", "tokenizer_config.json")) {
                Files.copy(testdata(fixture).resolve(f), to.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
            return to;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Makes a model folder a sentence-transformers folder: modules.json (Transformer, Pooling, maybe Normalize),
     * 1_Pooling/config.json with the given {@code pooling_mode_*} flags and include_prompt, sentence_bert_config.json,
     * and with {@code prompts} config_sentence_transformers.json with the prompts query and passage.
     */
    static Path sentenceTransformers(Path dir, List<String> modes, boolean normalize, boolean prompts, String defaultPrompt,
                                     boolean includePrompt, int maxSeqLength, boolean lowerCase) {
        List<Map<String, Object>> modules = new ArrayList<>();
        modules.add(Map.of("idx", 0, "name", "0", "path", "", "type", "sentence_transformers.models.Transformer"));
        modules.add(Map.of("idx", 1, "name", "1", "path", "1_Pooling", "type", "sentence_transformers.models.Pooling"));
        if (normalize) {
            modules.add(Map.of("idx", 2, "name", "2", "path", "2_Normalize", "type", "sentence_transformers.models.Normalize"));
        }
        writeJson(dir.resolve("modules.json"), modules);
        Map<String, Object> pooling = new LinkedHashMap<>();
        pooling.put("word_embedding_dimension", 32);
        for (String m : List.of("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens", "lasttoken")) {
            pooling.put("pooling_mode_" + m, modes.contains(m));
        }
        pooling.put("include_prompt", includePrompt);
        writeJson(dir.resolve("1_Pooling/config.json"), pooling);
        Map<String, Object> sb = new LinkedHashMap<>();
        sb.put("max_seq_length", maxSeqLength);
        sb.put("do_lower_case", lowerCase);
        writeJson(dir.resolve("sentence_bert_config.json"), sb);
        if (prompts) {
            Map<String, Object> cst = new LinkedHashMap<>();
            cst.put("prompts", Map.of("query", "query: ", "passage", "passage: "));
            cst.put("default_prompt_name", defaultPrompt);
            cst.put("similarity_fn_name", "cosine");
            writeJson(dir.resolve("config_sentence_transformers.json"), cst);
        }
        return dir;
    }

    static void writeJson(Path file, Object value) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(value));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- the CLI, in-process ----

    /** A run of {@code ./xlmr}: exit code, stdout, stderr. */
    record Cli(int code, String out, String err) {
        /** Stdout's JSON lines. */
        List<JsonNode> lines() {
            List<JsonNode> out = new ArrayList<>();
            for (String l : this.out.split("\n")) {
                if (l.isBlank()) continue;
                try {
                    out.add(JSON.readTree(l));
                } catch (IOException e) {
                    throw new AssertionError("not a JSON line: " + l, e);
                }
            }
            return out;
        }
    }

    static Cli cli(String stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), args);
        return new Cli(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** JSON lines for {@code --jsonl} (texts may hold newlines). */
    static String jsonl(List<? extends Map<String, ?>> inputs) {
        StringBuilder sb = new StringBuilder();
        for (Map<String, ?> m : inputs) {
            try {
                sb.append(JSON.writeValueAsString(m)).append('\n');
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return sb.toString();
    }

    static String textLines(List<String> texts) {
        return jsonl(texts.stream().map(t -> Map.of("text", t)).toList());
    }

    // ---- the server ----

    /** A real server on 127.0.0.1, a free port, over one model folder (NOVA routes on {@code novaRoot} when given). */
    record Server(LocalInferenceService service, XlmrServer server, URI base) implements AutoCloseable {
        static Server start(Path model, Path novaRoot) {
            return start(model, novaRoot, LocalInferenceService.Settings.defaults());
        }

        /** A server that keeps the model's token-level head, so the task routes answer ({@code serve --with-head}). */
        static Server withHead(Path model) {
            return start(model, null, LocalInferenceService.Settings.defaults().withHead(true));
        }

        private static Server start(Path model, Path novaRoot, LocalInferenceService.Settings settings) {
            LocalInferenceService s = LocalInferenceService.load(model, model.getFileName().toString(), settings);
            try {
                XlmrServer x = XlmrServer.start(s, ServerOptions.defaults().port(0).novaRoot(novaRoot));
                return new Server(s, x, x.uri());
            } catch (IOException | RuntimeException e) {
                s.close();
                throw new IllegalStateException("cannot start the server: " + e.getMessage(), e);
            }
        }

        Answer post(String path, Object body) {
            try {
                return send(HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        Answer form(String path, Map<String, String> form) {
            String body = form.entrySet().stream()
                    .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                            + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                    .collect(Collectors.joining("&"));
            return send(HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build());
        }

        /** Waits for a NOVA job's end; its status (2 finished, 3 error, 4 cancelled). */
        int awaitJob(String job) {
            for (int i = 0; i < 1000; i++) {
                int s = form("/job_status", Map.of("jobID", job)).json().get("status").asInt();
                if (s >= 2) return s;
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted");
                }
            }
            throw new AssertionError("NOVA job " + job + " did not finish");
        }

        private static Answer send(HttpRequest r) {
            try {
                HttpResponse<String> res = HTTP.send(r, HttpResponse.BodyHandlers.ofString());
                return new Answer(res.statusCode(), res.body());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted");
            }
        }

        @Override
        public void close() {
            server.close();
            service.close();
        }
    }

    /** An HTTP answer. */
    record Answer(int status, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }

        /** The body after checking the status is 200. */
        JsonNode ok() {
            if (status != 200) throw new AssertionError("HTTP " + status + ": " + body);
            return json();
        }
    }

    // ---- Spark ----

    private static SparkSession spark;

    /** The one local[2] session of these tests (no UI, loopback). */
    static synchronized SparkSession spark() {
        if (spark == null) {
            spark = SparkSession.builder().master("local[2]").appName("xlmr-doors")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "2")
                    .config("spark.default.parallelism", "2")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .getOrCreate();
        }
        return spark;
    }

    static final StructType TEXTS = new StructType().add("id", DataTypes.IntegerType, false).add("text", DataTypes.StringType, true);

    /** Rows (id, text) in one partition, so the transformer sees the texts as one batch as the other doors do. */
    static Dataset<Row> frame(List<String> texts) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) rows.add(RowFactory.create(i, texts.get(i)));
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark().sparkContext());
        return spark().createDataFrame(sc.parallelize(rows, 1), TEXTS);
    }

    /** A float array column value. */
    static float[] floats(Object value) {
        if (value == null) return null;
        @SuppressWarnings("unchecked")
        Seq<Object> s = (Seq<Object>) value;
        float[] out = new float[s.size()];
        for (int i = 0; i < out.length; i++) out[i] = (Float) s.apply(i);
        return out;
    }

    /** The struct elements of an array column value. */
    static List<Row> rows(Object value) {
        @SuppressWarnings("unchecked")
        Seq<Row> s = (Seq<Row>) value;
        List<Row> out = new ArrayList<>();
        for (int i = 0; i < s.size(); i++) out.add(s.apply(i));
        return out;
    }

    // ---- comparisons ----

    static float[] floats(JsonNode a) {
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) a.get(i).asDouble();
        return out;
    }

    static void assertClose(float[] expected, float[] actual, double tol, String where) {
        if (expected == null || actual == null) {
            if (expected != actual) throw new AssertionError(where + ": " + (expected == null ? "expected null" : "got null"));
            return;
        }
        if (expected.length != actual.length) {
            throw new AssertionError(where + ": length " + actual.length + ", expected " + expected.length);
        }
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
                throw new AssertionError(where + "[" + i + "]: " + actual[i] + ", expected " + expected[i]
                        + " (diff " + Math.abs(expected[i] - actual[i]) + " > " + tol + ")");
            }
        }
    }

    static void assertAllClose(List<float[]> expected, List<float[]> actual, double tol, String where) {
        if (expected.size() != actual.size()) {
            throw new AssertionError(where + ": " + actual.size() + " vectors, expected " + expected.size());
        }
        for (int i = 0; i < expected.size(); i++) assertClose(expected.get(i), actual.get(i), tol, where + " #" + i);
    }

    /** The JSON of a Java value (maps, lists, records' toMap()), as the CLI and the server write it. */
    static JsonNode tree(Object value) {
        return JSON.valueToTree(value);
    }

    /** Equal JSON: the same keys, strings and order; numbers within {@code tol}. */
    static void assertJson(JsonNode expected, JsonNode actual, double tol, String where) {
        if (expected.isNumber() && actual.isNumber()) {
            if (!(Math.abs(expected.asDouble() - actual.asDouble()) <= tol)) {
                throw new AssertionError(where + ": " + actual + ", expected " + expected + " (diff "
                        + Math.abs(expected.asDouble() - actual.asDouble()) + " > " + tol + ")");
            }
        } else if (expected.isArray() && actual.isArray() || expected.isObject() && actual.isObject()) {
            if (expected.size() != actual.size()) {
                throw new AssertionError(where + ": " + actual + ", expected " + expected);
            }
            if (expected.isArray()) {
                for (int i = 0; i < expected.size(); i++) assertJson(expected.get(i), actual.get(i), tol, where + "[" + i + "]");
            } else {
                List<String> ek = new ArrayList<>();
                expected.fieldNames().forEachRemaining(ek::add);
                List<String> ak = new ArrayList<>();
                actual.fieldNames().forEachRemaining(ak::add);
                if (!ek.equals(ak)) throw new AssertionError(where + ": keys " + ak + ", expected " + ek);
                for (String k : ek) assertJson(expected.get(k), actual.get(k), tol, where + "." + k);
            }
        } else if (!expected.equals(actual)) {
            throw new AssertionError(where + ": " + actual + ", expected " + expected);
        }
    }

    static List<float[]> vectors(JsonNode array) {
        List<float[]> out = new ArrayList<>();
        for (JsonNode v : array) out.add(floats(v));
        return out;
    }
}
