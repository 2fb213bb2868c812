package dev.xlmr.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.nova.Annotations;
import dev.xlmr.nova.DataRoot;
import dev.xlmr.nova.FileType;
import dev.xlmr.nova.FramingOptions;
import dev.xlmr.nova.FreeAnnotation;
import dev.xlmr.nova.NovaFormatException;
import dev.xlmr.nova.PathEscapeException;
import dev.xlmr.nova.SsiStream;
import dev.xlmr.nova.Trainer;
import dev.xlmr.nova.NovaEmbedding;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import dev.xlmr.server.InferenceService.Input;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.eclipse.jetty.http.MultiPart;
import org.eclipse.jetty.http.MultiPartFormData;

/**
 * The NOVA/DISCOVER processing API over a data folder ({@code --nova-root}, DISCOVER's DATA_DIR) and a
 * modules folder (its CML_DIR, the data folder by default): {@code /process}, {@code /job_status},
 * {@code /job_status_all}, {@code /log}, {@code /log/<jobID>}, {@code /cancel}, {@code /fetch_result},
 * {@code /upload}, {@code /cml_info}, {@code /api/update_progress}, with the original server's form fields
 * and answers. Jobs run one at a time, in order, on their own thread; their model work shares the server's
 * batcher. Status codes: 0 WAITING, 1 RUNNING, 2 FINISHED, 3 ERROR, 4 CANCELED.
 *
 * <p>Fields come as the NOVA tool sends them (multipart, camelCase: {@code frameSize}, {@code leftContext},
 * {@code dbHost} ...) or url-encoded in snake_case; both spellings mean the same, converted as DISCOVER
 * converts them. A job runs the module over every session of {@code sessions} in {@code dataset} (without
 * them, DISCOVER's {@code dummy_dataset}/{@code dummy_session}); progress is {@code "i/N"} sessions; a
 * session that fails is logged and skipped, and the job then ends ERROR. Inputs are {@code file:} (a
 * {@code uri} or a {@code uri_template} with {@code {dataset}} and {@code {session}}) or {@code db:}
 * transcripts in the NOVA MongoDB named by dbHost/dbPort/dbUser/dbPassword ({@link NovaDb}); outputs are
 * {@code file:}, {@code db:} (the stream {@code <data>/<dataset>/<session>/<role>.<name>.stream} and its
 * {@code Streams} document) or {@code request:} ({@code /fetch_result}); {@code "active": false} skips one.
 *
 * <p>{@code /process} answers {@code {"success":"True"}} as DISCOVER does; a request that cannot run
 * fails its job at once with the reason in the job's log. Every path is confined to its folder
 * ({@link DataRoot}), and every file is opened at its real path after checking that it lies inside, so
 * a symbolic link in the data folder cannot lead a job outside. Every job ends in a final state, whatever
 * it hits (also an {@link Error}); a session whose frames would need more than
 * {@link NovaOptions#maxJobBytes()} fails before anything is allocated.
 *
 * <p>The {@code xlm_roberta} module is built in: {@code modules/xlm_roberta/xlm_roberta.trainer} (either
 * separator, with or without {@code modules/}) works without a file; trainer files in the modules folder
 * are used when present, and must name the XLMRoBERTa module.
 */
final class NovaRoutes implements AutoCloseable {
    static final String BUILTIN_TRAINER = "modules/xlm_roberta/xlm_roberta.trainer";
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("MM/dd/yyyy, HH:mm:ss");
    private static final SecureRandom RANDOM = new SecureRandom();

    enum Status { WAITING, RUNNING, FINISHED, ERROR, CANCELED }

    /** One job, as {@code /job_status_all} lists it. */
    static final class Job {
        final String key;
        final String trainerPath;
        final Map<String, String> details;
        final Path logPath;
        final Path resultDir;
        volatile Status status = Status.WAITING;
        volatile String progress;
        volatile String startTime;
        volatile String endTime;
        volatile boolean cancelled;
        volatile boolean wasCanceled;

        Job(String key, String trainerPath, Map<String, String> details, Path logPath, Path resultDir) {
            this.key = key;
            this.trainerPath = trainerPath;
            this.details = details;
            this.logPath = logPath;
            this.resultDir = resultDir;
        }

        synchronized void log(String message) {
            String line = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss,SSS"))
                    + " - " + message + "\n";
            try {
                Files.writeString(logPath, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                System.err.println("xlmr: cannot write the log of job " + key + ": " + e.getMessage());
            }
        }

        boolean active() {
            return status == Status.WAITING || status == Status.RUNNING;
        }
    }

    /** A checked /process request. */
    private record Plan(FramingOptions framing, NovaEmbedding.Mode mode, int batchSize, String promptName, JsonNode input,
                        String inputOrigin, List<Output> outputs, String dataset, List<String> sessions, DbParams db) {}

    private final InferenceService service;
    private final DynamicBatcher batcher;
    private final ServerOptions options;
    private final NovaOptions novaOptions;
    private final DataRoot root;
    private final DataRoot modules;
    private final Path work;
    private final Trainer builtin;
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    private final ExecutorService runner = Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().name("xlmr-nova-jobs").daemon().unstarted(r));

    NovaRoutes(InferenceService service, DynamicBatcher batcher, ServerOptions options, NovaOptions novaOptions) throws IOException {
        this.service = service;
        this.batcher = batcher;
        this.options = options;
        this.novaOptions = novaOptions;
        this.root = new DataRoot(options.novaRoot());
        this.modules = novaOptions.modulesDir() == null ? root : new DataRoot(novaOptions.modulesDir());
        this.work = Files.createTempDirectory("xlmr-nova-");
        Files.createDirectories(work.resolve("logs"));
        Files.createDirectories(work.resolve("results"));
        Path trainer = work.resolve("xlm_roberta.trainer");
        try (InputStream in = NovaRoutes.class.getResourceAsStream("xlm_roberta.trainer")) {
            if (in == null) throw new IOException("the built-in xlm_roberta.trainer is missing from the jar");
            Files.copy(in, trainer, StandardCopyOption.REPLACE_EXISTING);
        }
        this.builtin = Trainer.read(trainer);
    }

    void register(Map<String, XlmrServer.Route> routes) {
        routes.put("POST /process", this::process);
        routes.put("POST /job_status", this::jobStatus);
        routes.put("GET /job_status_all", this::jobStatusAll);
        routes.put("POST /log", this::log);
        routes.put("POST /cancel", this::cancel);
        routes.put("POST /fetch_result", this::fetchResult);
        routes.put("POST /upload", this::upload);
        routes.put("POST /cml_info", this::cmlInfo);
        routes.put("POST /api/update_progress", this::updateProgress);
    }

    // ---- /process ----

    private void process(Exchange ex) {
        Map<String, String> raw = ex.form();
        Map<String, String> form = discoverFields(raw);
        String key = form.get("job_id");
        if (key == null || key.isBlank()) key = "job-" + Long.toHexString(RANDOM.nextLong() >>> 16);
        checkJobId(key);
        Job job;
        synchronized (jobs) {
            Job old = jobs.get(key);
            if (old != null && old.active()) {
                // NOVA derives the job ID from the request, so this is the same job asked for again
                old.log("a second request for this job while it is " + old.status.name().toLowerCase(Locale.ROOT)
                        + " was ignored");
                ex.sendJson(200, Map.of("success", "True"));
                return;
            }
            Path results = work.resolve("results").resolve(key);
            deleteTree(results);
            job = new Job(key, form.get("trainer_file_path"), sanitize(raw), work.resolve("logs").resolve(key + ".log"), results);
            try {
                Files.deleteIfExists(job.logPath);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            jobs.remove(key); // re-inserted last, as a new job
            jobs.put(key, job);
        }
        job.log(python(job.details));
        Plan plan;
        try {
            plan = plan(form);
        } catch (ApiException e) {
            // DISCOVER accepts every request and the job fails: NOVA then shows the reason from the log
            job.log("Job failed with exception " + e.getMessage());
            finish(job, Status.ERROR);
            ex.sendJson(200, Map.of("success", "True"));
            return;
        }
        Job j = job;
        try {
            runner.execute(() -> run(j, plan));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            j.status = Status.CANCELED;
            throw new ApiException(503, "unhealthy", "the server is shutting down");
        }
        ex.sendJson(200, Map.of("success", "True"));
    }

    /**
     * DISCOVER's field names: every key converted from camelCase to snake_case as its ExecutionHandler does
     * ({@code frameSize -> frame_size}, {@code jobID -> job_id}, {@code trainerFilePath -> trainer_file_path});
     * keys already in snake_case stay. When both spellings come, the later one wins, as in DISCOVER.
     */
    static Map<String, String> discoverFields(Map<String, String> form) {
        Map<String, String> out = new LinkedHashMap<>();
        form.forEach((k, v) -> out.put(snake(k), v));
        return out;
    }

    /** {@code re.sub(r"(?<!^)(?=[A-Z])(?<![A-Z])", "_", k).lower()}. */
    static String snake(String k) {
        StringBuilder sb = new StringBuilder(k.length() + 4);
        for (int i = 0; i < k.length(); i++) {
            char c = k.charAt(i);
            if (i > 0 && c >= 'A' && c <= 'Z' && !(k.charAt(i - 1) >= 'A' && k.charAt(i - 1) <= 'Z')) sb.append('_');
            sb.append(c);
        }
        return sb.toString().toLowerCase(Locale.ROOT);
    }

    /** Job ids name folders and log files: no separators, control characters or leading dot. */
    private static void checkJobId(String key) {
        if (key.length() > 200 || key.startsWith(".") || key.chars().anyMatch(c -> c < 32 || c == 127
                || c == '/' || c == '\\' || c == ':' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' || c == '|')) {
            throw new ApiException(400, "validation", "jobID must be at most 200 characters without / \\ : * ? \" < > |, "
                    + "control characters or a leading dot");
        }
    }

    /** The NOVA database of a request: dbHost, dbPort, dbUser, dbPassword. */
    private record DbParams(String host, int port, String user, String password) {}

    /** One output of the job: its data entry and origin (file, db or request). */
    private record Output(JsonNode entry, String origin) {}

    private Plan plan(Map<String, String> form) {
        String trainerPath = form.get("trainer_file_path");
        Trainer trainer = trainer(trainerPath);
        String create = trainer.model().getOrDefault("create", "");
        String script = trainer.model().getOrDefault("script", "");
        if (!create.equalsIgnoreCase("XLMRoBERTa") && !script.toLowerCase(Locale.ROOT).startsWith("xlm_roberta")) {
            throw new ApiException(400, "validation", "module " + create + " (" + script
                    + ") is not available on this server; it runs the xlm_roberta module (create=\"XLMRoBERTa\")");
        }
        FramingOptions framing;
        try {
            Map<String, String> times = new LinkedHashMap<>(form);
            // NOVA sends stride "None" when the field is hidden; DISCOVER's parser then uses the frame size
            times.replaceAll((k, v) -> v != null && v.strip().equalsIgnoreCase("none") ? "" : v);
            framing = FramingOptions.fromRequest(times);
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, "validation", "framing: " + e.getMessage());
        }
        Map<String, String> opts = new LinkedHashMap<>(trainer.defaultOptions());
        opts.putAll(requestOptions(form));
        int batchSize;
        try {
            batchSize = Integer.parseInt(opts.getOrDefault("batch_size", "16").strip());
            if (batchSize < 1 || batchSize > 4096) throw new NumberFormatException();
        } catch (NumberFormatException e) {
            throw new ApiException(400, "validation", "batch_size must be an integer 1..4096, got " + opts.get("batch_size"));
        }
        NovaEmbedding.Mode mode;
        try {
            mode = NovaEmbedding.Mode.parse(opts.get("pooling"));
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, "validation", e.getMessage());
        }
        String promptName = opts.get("prompt_name");
        if (promptName != null && promptName.isBlank()) promptName = null;
        if (promptName != null && mode == NovaEmbedding.Mode.COMPAT) {
            throw new ApiException(400, "validation", "pooling compat is the original module's output: it takes no prompt_name");
        }
        String inputId = trainer.io().stream().filter(Trainer.Io::isInput).map(Trainer.Io::id).findFirst().orElse("transcript");
        String outputId = trainer.io().stream().filter(io -> !io.isInput()).map(Trainer.Io::id).findFirst().orElse("embeddings");
        JsonNode data = dataEntries(form.get("data"));
        JsonNode in = entry(data, "input", inputId, "annotation");
        String[] inSrc = src(in);
        if (!inSrc[0].equals("file") && !inSrc[0].equals("db")) {
            throw new ApiException(400, "validation", "input origin " + inSrc[0] + " is not supported; use file: or db:annotation:free");
        }
        if (!inSrc[1].equals("annotation") || !(inSrc[2].equals("free") || inSrc[2].startsWith("free:"))) {
            throw new ApiException(400, "validation", "input " + in.path("id").asText() + " must be annotation:free, got "
                    + in.path("src").asText());
        }
        List<Output> outputs = new ArrayList<>();
        for (JsonNode out : outputs(data, outputId)) {
            String[] outSrc = src(out);
            if (!outSrc[1].equals("stream")) {
                throw new ApiException(400, "validation", "output " + out.path("id").asText() + " must be a stream, got "
                        + out.path("src").asText());
            }
            if (!List.of("file", "db", "request").contains(outSrc[0])) {
                throw new ApiException(400, "validation", "output origin " + outSrc[0] + " is not supported; use file, db or request");
            }
            if (outSrc[0].equals("db") && (out.path("name").asText("").isBlank() || out.path("role").asText("").isBlank())) {
                throw new ApiException(400, "validation", "db output " + out.path("id").asText() + " needs a name and a role");
            }
            if (outSrc[0].equals("file") && !out.hasNonNull("uri_template") && out.path("uri").asText("").isBlank()) {
                throw new ApiException(400, "validation", "output uri is missing");
            }
            outputs.add(new Output(out, outSrc[0]));
        }
        if (inSrc[0].equals("db")) {
            for (String f : List.of("scheme", "annotator", "role")) {
                if (in.path(f).asText("").isBlank()) throw new ApiException(400, "validation", "db input " + in.path("id").asText()
                        + " needs a " + f);
            }
        } else if (!in.hasNonNull("uri_template")) {
            confined(in.path("uri").asText(null), "input uri");
        }
        for (Output o : outputs) {
            if (o.origin().equals("file") && !o.entry().hasNonNull("uri_template")) {
                confined(withExtension(o.entry().path("uri").asText(""), ".stream"), "output uri");
            }
        }
        boolean needsDb = inSrc[0].equals("db") || outputs.stream().anyMatch(o -> o.origin().equals("db"));
        DbParams db = null;
        String dataset = form.get("dataset");
        List<String> sessions = sessionList(form.get("sessions"));
        if (needsDb) {
            String host = form.getOrDefault("db_host", "");
            if (host.isBlank()) throw new ApiException(400, "validation", "db: sources need dbHost and dbPort");
            int port;
            try {
                port = Integer.parseInt(form.getOrDefault("db_port", "27017").strip());
                if (port < 1 || port > 65535) throw new NumberFormatException();
            } catch (NumberFormatException e) {
                throw new ApiException(400, "validation", "dbPort must be a port number, got " + form.get("db_port"));
            }
            db = new DbParams(host.strip(), port, form.getOrDefault("db_user", ""), form.getOrDefault("db_password", ""));
            if (dataset == null || dataset.isBlank()) throw new ApiException(400, "validation", "db: sources need a dataset");
            if (sessions.isEmpty()) throw new ApiException(400, "validation", "db: sources need sessions (a JSON list of names)");
        } else {
            // DISCOVER's defaults when the request names none
            if (dataset == null || dataset.isBlank()) dataset = "dummy_dataset";
            if (sessions.isEmpty()) sessions = List.of("dummy_session");
        }
        return new Plan(framing, mode, batchSize, promptName, in, inSrc[0], outputs, dataset, sessions, db);
    }

    private static List<String> sessionList(String json) {
        if (json == null || json.isBlank()) return List.of();
        try {
            JsonNode n = Exchange.JSON.readTree(json);
            List<String> out = new ArrayList<>();
            if (n.isTextual()) out.add(n.asText());
            else if (n.isArray()) n.forEach(x -> out.add(x.asText()));
            else throw new ApiException(400, "validation", "sessions must be a JSON list of session names");
            return out;
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "validation", "sessions: malformed JSON: " + e.getOriginalMessage());
        }
    }

    private Trainer trainer(String trainerPath) {
        if (trainerPath == null || trainerPath.isBlank()) {
            throw new ApiException(400, "validation", "trainerFilePath is missing");
        }
        Path p;
        try {
            String t = trainerPath.strip();
            // NOVA strips its CML folder from the trainer's path, which can leave one leading separator
            if ((t.startsWith("\\") || t.startsWith("/")) && !t.startsWith("\\\\") && !t.startsWith("//")
                    && !Path.of(t.replace('\\', '/')).normalize().startsWith(modules.root())) {
                t = t.substring(1);
            }
            p = modules.resolve(t);
        } catch (PathEscapeException e) {
            throw new ApiException(400, "path_escape", "trainerFilePath: " + e.getMessage());
        } catch (java.nio.file.InvalidPathException e) { // a NUL, found by HttpFuzzTests (was a 500)
            throw new ApiException(400, "path_escape", "trainerFilePath: not a valid path");
        } catch (IOException e) {
            throw new ApiException(400, "validation", "trainerFilePath: " + e.getMessage());
        }
        if (Files.isRegularFile(p)) {
            try {
                return Trainer.read(modules.realFile(p));
            } catch (PathEscapeException e) {
                throw new ApiException(400, "path_escape", "trainerFilePath: " + e.getMessage());
            } catch (IOException e) {
                throw new ApiException(400, "validation", "trainer " + trainerPath + ": " + e.getMessage());
            }
        }
        String norm = trainerPath.strip().replace('\\', '/');
        while (norm.startsWith("./")) norm = norm.substring(2);
        if (norm.startsWith("/") && !norm.startsWith("//")) norm = norm.substring(1);
        if (norm.equalsIgnoreCase(BUILTIN_TRAINER) || norm.equalsIgnoreCase(BUILTIN_TRAINER.substring("modules/".length()))) {
            return builtin;
        }
        throw new ApiException(400, "validation", "no trainer " + trainerPath + " (the built-in one is "
                + BUILTIN_TRAINER + ")");
    }

    private Path confined(String uri, String what) {
        if (uri == null || uri.isBlank()) throw new ApiException(400, "validation", what + " is missing");
        try {
            return root.resolve(uri);
        } catch (PathEscapeException e) {
            throw new ApiException(400, "path_escape", what + ": " + e.getMessage());
        } catch (IOException e) {
            throw new ApiException(400, "validation", what + ": " + e.getMessage());
        }
    }

    private static String withExtension(String uri, String ext) {
        return uri.toLowerCase(Locale.ROOT).endsWith(ext) ? uri : uri + ext;
    }

    /**
     * A file entry's path for one session: {@code uri_template} with {@code {dataset}} and {@code {session}}
     * filled (Python's str.format: {@code {{ }}} are literal braces), else {@code uri} verbatim.
     */
    static String fileUri(JsonNode entry, String dataset, String session) {
        JsonNode t = entry.get("uri_template");
        if (t == null || t.isNull()) return entry.path("uri").asText("");
        String template = t.asText();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < template.length(); i++) {
            char c = template.charAt(i);
            if ((c == '{' || c == '}') && i + 1 < template.length() && template.charAt(i + 1) == c) {
                sb.append(c);
                i++;
            } else if (c == '{') {
                int end = template.indexOf('}', i);
                String field = end < 0 ? "" : template.substring(i + 1, end);
                switch (field) {
                    case "dataset" -> sb.append(dataset);
                    case "session" -> sb.append(session);
                    default -> throw new IllegalArgumentException("uri_template " + template
                            + " may only hold {dataset} and {session}, found {" + field + (end < 0 ? "" : "}"));
                }
                i = end;
            } else if (c == '}') {
                throw new IllegalArgumentException("uri_template " + template + " has a single '}'");
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static Map<String, String> requestOptions(Map<String, String> form) {
        Map<String, String> out = new LinkedHashMap<>();
        String optStr = form.get("opt_str");
        if (optStr != null && !optStr.isBlank()) {
            try {
                Trainer.parseOptStr(optStr).forEach(o -> out.put(o.name(), o.value()));
            } catch (IllegalArgumentException e) {
                throw new ApiException(400, "validation", "optStr: " + e.getMessage());
            }
        }
        String options = form.get("options");
        if (options != null && !options.isBlank()) {
            try {
                JsonNode n = Exchange.JSON.readTree(options);
                if (!n.isObject()) throw new ApiException(400, "validation", "options must be a JSON object");
                n.properties().forEach(e -> out.put(e.getKey(), e.getValue().isValueNode() ? e.getValue().asText()
                        : e.getValue().toString()));
            } catch (JsonProcessingException e) {
                throw new ApiException(400, "validation", "options: malformed JSON: " + e.getOriginalMessage());
            }
        }
        return out;
    }

    private static JsonNode dataEntries(String data) {
        if (data == null || data.isBlank()) throw new ApiException(400, "validation", "data is missing");
        try {
            JsonNode n = Exchange.JSON.readTree(data);
            if (!n.isArray()) throw new ApiException(400, "validation", "data must be a JSON list of {src, type, id, uri}");
            return n;
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "validation", "data: malformed JSON: " + e.getOriginalMessage());
        }
    }

    /** The data entry of that type and id, else the only one of that type and kind. */
    private static JsonNode entry(JsonNode data, String type, String id, String kind) {
        List<JsonNode> ofKind = new ArrayList<>();
        for (JsonNode e : data) {
            if (!e.isObject() || !type.equalsIgnoreCase(e.path("type").asText())) continue;
            if (id.equals(e.path("id").asText())) return e;
            if (src(e)[1].equals(kind)) ofKind.add(e);
        }
        if (ofKind.size() == 1) return ofKind.getFirst();
        throw new ApiException(400, "validation", "data has no " + type + " \"" + id + "\" (" + kind + ")");
    }

    /** The active outputs of that id (or, when none has it, of kind stream); {@code "active": false} ones are skipped as DISCOVER does. */
    private static List<JsonNode> outputs(JsonNode data, String id) {
        List<JsonNode> byId = new ArrayList<>(), streams = new ArrayList<>();
        for (JsonNode e : data) {
            if (!e.isObject() || !"output".equalsIgnoreCase(e.path("type").asText())) continue;
            if (id.equals(e.path("id").asText())) byId.add(e);
            else if (src(e)[1].equals("stream")) streams.add(e);
        }
        List<JsonNode> all = byId.isEmpty() ? streams : byId;
        if (all.isEmpty()) throw new ApiException(400, "validation", "data has no output \"" + id + "\" (stream)");
        return all.stream().filter(NovaRoutes::active).toList();
    }

    /** {@code active} false (or "False", as Python's truthiness of NOVA's values) skips an entry. */
    private static boolean active(JsonNode e) {
        JsonNode a = e.get("active");
        if (a == null || a.isNull()) return true;
        if (a.isBoolean()) return a.asBoolean();
        String s = a.asText().strip().toLowerCase(Locale.ROOT);
        return !(s.equals("false") || s.equals("0") || s.isEmpty() || s.equals("no"));
    }

    /** {@code origin:kind:subtype}, lower case, missing parts empty. */
    private static String[] src(JsonNode entry) {
        String[] parts = entry.path("src").asText("").toLowerCase(Locale.ROOT).split(":", 3);
        String[] out = {"", "", ""};
        System.arraycopy(parts, 0, out, 0, Math.min(3, parts.length));
        return out;
    }

    private void run(Job job, Plan plan) {
        if (job.cancelled) return;
        job.status = Status.RUNNING;
        job.startTime = LocalDateTime.now().format(TIME);
        int total = plan.sessions().size();
        job.progress = "0/" + total;
        int failed = 0;
        NovaDb db = null;
        try {
            if (plan.db() != null) {
                DbParams p = plan.db();
                db = NovaDb.connect(p.host(), p.port(), p.user(), p.password());
                job.log("connected to " + db);
            }
            List<NovaDb.Session> sessions = new ArrayList<>();
            if (db != null) {
                List<NovaDb.Session> found = db.sessions(plan.dataset(), plan.sessions());
                for (String name : plan.sessions()) {
                    NovaDb.Session s = found.stream().filter(x -> x.name().equals(name)).findFirst().orElse(null);
                    sessions.add(s == null ? new NovaDb.Session(name, -2) : s);
                }
            } else {
                for (String name : plan.sessions()) sessions.add(new NovaDb.Session(name, -1));
            }
            for (int i = 0; i < total; i++) {
                if (job.cancelled) throw new CancellationException();
                NovaDb.Session session = sessions.get(i);
                String at = "(" + (i + 1) + "/" + total + "): " + session.name();
                job.progress = (i + 1) + "/" + total;
                job.log("Processing session " + at + "...");
                try {
                    if (session.durationMs() == -2) {
                        throw new IOException("dataset " + plan.dataset() + " has no session " + session.name());
                    }
                    runSession(job, plan, db, session);
                    job.log("Completed session " + at);
                } catch (CancellationException e) {
                    throw e;
                } catch (Exception | OutOfMemoryError | StackOverflowError e) {
                    failed++;
                    job.log("Processor exited with error: '" + reason(e) + "'. Continuing with next session " + at);
                }
            }
            job.log("Processing completed!");
            if (failed > 0) {
                job.log("Processing job encountered errors for " + failed + " of " + total + " sessions. Check logs for details.");
                job.log("Job failed with exception exit status 1");
            }
            finish(job, failed > 0 ? Status.ERROR : Status.FINISHED);
        } catch (CancellationException e) {
            job.log("cancelled");
            finish(job, Status.CANCELED);
        } catch (Throwable e) {
            // every job ends in a final state, whatever it hit
            job.log("Job failed with exception " + reason(e));
            finish(job, Status.ERROR);
        } finally {
            if (db != null) db.close();
            if (job.status == Status.RUNNING || job.status == Status.WAITING) finish(job, Status.ERROR);
        }
    }

    private static String reason(Throwable e) {
        if (e instanceof OutOfMemoryError) return "out of memory (" + e.getMessage() + "): the session is too large for this heap";
        if (e instanceof java.nio.file.NoSuchFileException) return "no such file " + e.getMessage();
        if (e instanceof IOException && e.getMessage() != null) return e.getMessage();
        if (e instanceof NovaFormatException || e instanceof IllegalArgumentException || e instanceof IllegalStateException
                || e instanceof PathEscapeException || e instanceof UnsupportedOperationException) {
            return e.getMessage();
        }
        return e.getMessage() == null ? e.toString() : e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    private void runSession(Job job, Plan plan, NovaDb db, NovaDb.Session session) throws IOException {
        String dataset = plan.dataset();
        FreeAnnotation transcript;
        String from;
        if (plan.inputOrigin().equals("db")) {
            JsonNode in = plan.input();
            transcript = db.readFree(dataset, session.name(), in.path("scheme").asText(), in.path("annotator").asText(),
                    in.path("role").asText());
            from = "db " + dataset + "/" + session.name() + " " + in.path("scheme").asText() + "/"
                    + in.path("annotator").asText() + "/" + in.path("role").asText();
        } else {
            Path header = confined(fileUri(plan.input(), dataset, session.name()), "input uri");
            transcript = readConfined(header);
            from = root.root().relativize(header).toString();
        }
        long d = session.durationMs() >= 0 ? session.durationMs() : transcript.durationMs();
        job.log("read " + transcript.size() + " segments from " + from + "; session duration " + d + " ms");
        long t0 = System.nanoTime();
        SsiStream stream = NovaEmbedding.process(transcript, plan.framing(), d, plan.mode(), plan.batchSize(),
                (texts, vectors) -> embedThroughBatcher(texts, vectors,
                        plan.mode() == NovaEmbedding.Mode.COMPAT ? "" : plan.promptName()), service.info().hiddenSize(),
                novaOptions.maxJobBytes(), () -> job.cancelled, (done, all) -> { });
        if (job.cancelled) throw new CancellationException();
        for (Output o : plan.outputs()) {
            JsonNode e = o.entry();
            Path out = switch (o.origin()) {
                case "file" -> confined(withExtension(fileUri(e, dataset, session.name()), ".stream"), "output uri");
                case "db" -> confined(dataset + "/" + session.name() + "/" + e.path("role").asText() + "."
                        + e.path("name").asText() + ".stream", "db output");
                default -> {
                    // DISCOVER's request outputs: <shared>/<job>/<dataset>/<session>/<name>
                    String name = e.path("name").asText("");
                    if (name.isBlank()) name = e.path("uri").asText("");
                    name = name.replace('\\', '/');
                    name = name.substring(name.lastIndexOf('/') + 1);
                    if (name.isBlank() || name.equals(".") || name.equals("..")) name = e.path("id").asText("embeddings");
                    checkSegment(dataset, "dataset");
                    checkSegment(session.name(), "session");
                    yield job.resultDir.resolve(dataset).resolve(session.name()).resolve(withExtension(name, ".stream"));
                }
            };
            if (out.getParent() != null) Files.createDirectories(out.getParent());
            stream.write(out, FileType.BINARY);
            if (o.origin().equals("db")) db.saveStream(dataset, e.path("name").asText(), stream.sampleRate(), "stream");
            job.log(String.format(Locale.ROOT, "wrote %d frames x %d at %.3f Hz (pooling %s) to %s%s in %.1f s",
                    stream.numSamples(), stream.dim(), stream.sampleRate(), plan.mode().name().toLowerCase(Locale.ROOT),
                    o.origin().equals("request") ? "the job's results " : "", o.origin().equals("request")
                            ? job.resultDir.relativize(out).toString() : root.root().relativize(out).toString(),
                    (System.nanoTime() - t0) / 1e9));
        }
    }

    private static void checkSegment(String name, String what) {
        if (name.isBlank() || name.equals(".") || name.equals("..") || name.contains("/") || name.contains("\\")
                || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + " \"" + name + "\" cannot name a folder");
        }
    }

    /** Reads an annotation pair, each file opened at its real path once that is checked to lie in the data folder. */
    private FreeAnnotation readConfined(Path header) throws IOException {
        Path realHeader = root.realFile(header);
        Path data = Annotations.dataPath(header);
        Path realData = Files.exists(data, java.nio.file.LinkOption.NOFOLLOW_LINKS) ? root.realFile(data) : data;
        return Annotations.readFree(realHeader, realData);
    }

    private static void finish(Job job, Status status) {
        job.endTime = LocalDateTime.now().format(TIME);
        if (job.status != Status.CANCELED) job.status = job.cancelled ? Status.CANCELED : status;
    }

    /**
     * NOVA's vectors through the shared batcher, with the same prepared inputs as /embed: the prompt (named,
     * else the folder's default; "" none, as for compat, the original module, pooler output included) for
     * pooler and mean, none for the padded batch mean.
     */
    private float[][] embedThroughBatcher(List<String> texts, NovaEmbedding.Vectors vectors, String promptName) {
        boolean padded = vectors == NovaEmbedding.Vectors.PADDED_BATCH_MEAN;
        List<Input> inputs = service.prepare(texts, padded ? "" : promptName, true);
        int tokens = 0;
        for (Input in : inputs) tokens += in.tokens();
        Pooling pooling = vectors == NovaEmbedding.Vectors.MEAN ? Pooling.MEAN : Pooling.POOLER;
        // the padded mean depends on the whole batch: never merged (null key)
        Object key = padded ? null : "nova-" + pooling;
        try {
            List<float[]> out = batcher.call(key, inputs, tokens, batch -> java.util.Arrays.asList(
                    padded ? service.paddedBatchMean(batch) : service.embed(batch, pooling, false)));
            return out.toArray(float[][]::new);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted");
        }
    }

    // ---- status, logs, cancel, results ----

    /** {@code jobID} (or {@code job_id}) of a form. */
    private static String jobId(Map<String, String> form) {
        return discoverFields(form).get("job_id");
    }

    /** {@code POST /api/update_progress {"job_key", "progress"}}: how du-process reports "i/N" to DISCOVER. */
    private void updateProgress(Exchange ex) {
        JsonNode body = ex.json();
        String key = body.path("job_key").asText("");
        String progress = body.path("progress").asText("");
        if (key.isEmpty() || progress.isEmpty()) {
            ex.sendJson(400, Map.of("success", false, "error", "Missing job_key or progress"));
            return;
        }
        Job j = job(key);
        if (j == null) throw new ApiException(404, "not_found", "no job " + key);
        j.progress = progress;
        ex.sendJson(200, Map.of("success", true));
    }

    private Job job(String key) {
        synchronized (jobs) {
            return key == null ? null : jobs.get(key);
        }
    }

    private void jobStatus(Exchange ex) {
        Job j = job(jobId(ex.form()));
        ex.sendJson(200, Map.of("status", j == null ? Status.WAITING.ordinal() : j.status.ordinal()));
    }

    private void jobStatusAll(Exchange ex) {
        List<Map<String, Object>> out = new ArrayList<>();
        List<Job> all;
        synchronized (jobs) {
            all = new ArrayList<>(jobs.values());
        }
        for (Job j : all) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("job_key", j.key);
            m.put("job_type", "du-process");
            m.put("module_name", moduleName(j.trainerPath));
            m.put("status", j.status.name());
            m.put("progress", j.progress == null ? "-" : j.progress);
            m.put("start_time", j.startTime == null ? "" : j.startTime);
            m.put("end_time", j.endTime == null ? "" : j.endTime);
            m.put("log_path", j.logPath.toString());
            m.put("details", python(j.details));
            m.put("interactive_url", "");
            m.put("was_canceled", j.wasCanceled);
            out.add(m);
        }
        ex.sendJson(200, out);
    }

    /** The original reports the first segment of the trainer path. */
    private static String moduleName(String trainerPath) {
        if (trainerPath == null) return "";
        String[] parts = trainerPath.replace('\\', '/').split("/");
        for (String p : parts) if (!p.isEmpty()) return p;
        return "";
    }

    private String logOf(Job j) {
        try {
            return Files.exists(j.logPath) ? Files.readString(j.logPath, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void log(Exchange ex) {
        Job j = job(jobId(ex.form()));
        ex.sendJson(200, Map.of("message", j == null ? "No log for the given parameters found." : logOf(j)));
    }

    /** {@code GET /log/<jobID>}: the log as text. */
    void logText(Exchange ex) {
        String key = java.net.URLDecoder.decode(ex.path().substring("/log/".length()), StandardCharsets.UTF_8);
        Job j = job(key);
        if (j == null) throw new ApiException(404, "not_found", "no job " + key);
        ex.sendText(200, logOf(j), "text/plain; charset=utf-8");
    }

    private void cancel(Exchange ex) {
        Job j = job(jobId(ex.form()));
        if (j != null) j.wasCanceled = true;
        boolean ok = j != null && j.active();
        if (ok) {
            j.cancelled = true;
            j.status = Status.CANCELED;
            j.endTime = LocalDateTime.now().format(TIME);
            j.log("Action successfully canceled.");
        } else if (j != null) {
            j.log("Cancel was not successful.");
        }
        ex.sendJson(200, Map.of("success", ok ? "true" : "false"));
    }

    private void fetchResult(Exchange ex) throws IOException {
        Map<String, String> form = discoverFields(ex.form());
        String key = form.get("job_id");
        Job j = job(key);
        List<Path> files = new ArrayList<>();
        if (j != null && Files.isDirectory(j.resultDir) && !j.active()) {
            try (Stream<Path> s = Files.walk(j.resultDir)) {
                s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("."))
                        .sorted(Comparator.naturalOrder()).forEach(files::add);
            }
        }
        if (files.isEmpty()) throw new ApiException(404, "not_found", "No data for job id " + key + " found on server.");
        boolean delete = Boolean.parseBoolean(form.getOrDefault("delete_after_download", "false").strip().toLowerCase(Locale.ROOT))
                || form.getOrDefault("delete_after_download", "").strip().equals("1");
        Job job = j;
        Runnable cleanup = delete ? () -> deleteQuietly(job.resultDir) : null;
        if (files.size() == 1) {
            Path f = files.getFirst();
            ex.sendFile(f, "application/octet-stream", f.getFileName().toString(), cleanup);
            return;
        }
        // several files (a stream is X.stream and X.stream~): DISCOVER's zip, <job>.zip, uncompressed
        // (ZIP_STORED), each file named by its path below the job's folder's parent: <job>/<dataset>/<session>/<name>
        Path zip = Files.createTempFile(work.resolve("results"), ".fetch-", ".zip");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(zip))) {
            for (Path f : files) {
                ZipEntry e = new ZipEntry(key + "/" + j.resultDir.relativize(f).toString().replace('\\', '/'));
                e.setMethod(ZipEntry.STORED);
                java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                try (InputStream in = Files.newInputStream(f)) {
                    byte[] buf = new byte[1 << 16];
                    for (int n; (n = in.read(buf)) > 0; ) crc.update(buf, 0, n);
                }
                e.setSize(Files.size(f));
                e.setCompressedSize(Files.size(f));
                e.setCrc(crc.getValue());
                z.putNextEntry(e);
                Files.copy(f, z);
                z.closeEntry();
            }
        }
        ex.sendFile(zip, "application/zip", key + ".zip", () -> {
            deleteQuietly(zip);
            if (cleanup != null) cleanup.run();
        });
    }

    private static void deleteQuietly(Path p) {
        try {
            deleteTree(p);
        } catch (UncheckedIOException e) {
            System.err.println("xlmr: cannot delete " + p + ": " + e.getCause().getMessage());
        }
    }

    // ---- upload, cml_info ----

    /** Longest client file name /upload takes, in UTF-8 bytes: what one name may have on common file systems. */
    static final int MAX_UPLOAD_NAME_BYTES = 255;

    /**
     * {@code POST /upload}, multipart field {@code file}, named as DISCOVER names uploads: six random lower-case
     * letters, a dot and the client name's last dot-separated part ({@code talk.annotation} becomes
     * {@code qwerty.annotation}). DISCOVER keeps one file; further {@code file} parts get the same six letters,
     * so an annotation's header and data ({@code x.annotation}, {@code x.annotation~}) stay a pair. The
     * answer is each saved file's path, one a line, relative to the data folder as {@code /process} uris are
     * ({@code upload/qwerty.annotation}); DISCOVER's is relative to its tmp folder.
     */
    private void upload(Exchange ex) throws IOException {
        Path spool = work.resolve("spool");
        Files.createDirectories(spool);
        List<String> saved = new ArrayList<>();
        try (MultiPartFormData.Parts parts = ex.multipart(options.maxUploadBytes(), spool)) {
            List<MultiPart.Part> files = parts.getAll("file");
            if (files.isEmpty()) throw new ApiException(400, "validation", "no multipart field \"file\"");
            List<String> extensions = new ArrayList<>();
            for (MultiPart.Part p : files) {
                String ext = uploadExtension(p.getFileName());
                if (extensions.contains(ext)) {
                    throw new ApiException(400, "validation", "two uploaded files end in ." + ext
                            + ": one upload keeps one file of each extension");
                }
                extensions.add(ext);
            }
            Path dir = confined("upload", "upload");
            Files.createDirectories(dir);
            String stem = null;
            for (int tries = 0; tries < 100 && stem == null; tries++) {
                String s = randomName(6);
                if (extensions.stream().noneMatch(e -> Files.exists(dir.resolve(s + "." + e), java.nio.file.LinkOption.NOFOLLOW_LINKS))) {
                    stem = s;
                }
            }
            if (stem == null) throw new ApiException(503, "unhealthy", "no free upload name; try again");
            for (int i = 0; i < files.size(); i++) {
                String name = stem + "." + extensions.get(i);
                Path target = confined("upload/" + name, "upload");
                Path tmp = dir.resolve(".part-" + name);
                files.get(i).writeTo(tmp);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                saved.add("upload/" + name);
            }
        }
        ex.sendText(200, String.join("\n", saved), "text/plain; charset=utf-8");
    }

    /**
     * DISCOVER's {@code file.filename.split('.')[-1]} of the name's last path segment, checked: a name is at
     * most {@link #MAX_UPLOAD_NAME_BYTES} bytes, without control characters, and not {@code .} or {@code ..}.
     */
    static String uploadExtension(String clientName) {
        String name = clientName == null ? "" : clientName.replace('\\', '/');
        name = name.substring(name.lastIndexOf('/') + 1);
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_UPLOAD_NAME_BYTES) {
            throw new ApiException(400, "validation", "the uploaded file's name has " + bytes + " bytes; at most "
                    + MAX_UPLOAD_NAME_BYTES + " are allowed");
        }
        if (name.isBlank() || name.equals(".") || name.equals("..") || name.chars().anyMatch(c -> c < 32 || c == 127)) {
            String shown = clientName == null ? "" : clientName.chars().anyMatch(c -> c < 32 || c == 127) ? "with control characters" : clientName;
            throw new ApiException(400, "validation", "upload needs a plain file name, got \"" + shown + "\"");
        }
        return name.substring(name.lastIndexOf('.') + 1);
    }

    private static String randomName(int letters) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < letters; i++) sb.append((char) ('a' + RANDOM.nextInt(26)));
        return sb.toString();
    }

    private void cmlInfo(Exchange ex) throws IOException {
        Map<String, String> form = ex.form();
        List<String> inputFilter = filterList(form.get("input_filter"));
        List<String> outputFilter = filterList(form.get("output_filter"));
        Map<String, String> ok = new java.util.TreeMap<>(), faulty = new java.util.TreeMap<>();
        try (Stream<Path> s = Files.walk(modules.root(), 8)) {
            for (Path p : s.filter(f -> f.toString().endsWith(".trainer") && Files.isRegularFile(f) && modules.isInside(f)).toList()) {
                String rel = modules.root().relativize(p).toString().replace('\\', '/');
                try {
                    addTrainer(ok, rel, Trainer.read(modules.realFile(p)), inputFilter, outputFilter);
                } catch (IOException | RuntimeException e) {
                    faulty.put(rel, e.getMessage() == null ? e.toString() : e.getMessage());
                }
            }
        }
        if (!ok.containsKey(BUILTIN_TRAINER) && !faulty.containsKey(BUILTIN_TRAINER)) {
            addTrainer(ok, BUILTIN_TRAINER, builtin, inputFilter, outputFilter);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("chains_ok", Map.of());
        out.put("chains_faulty", Map.of());
        out.put("trainer_ok", ok);
        out.put("trainer_faulty", faulty);
        out.put("explainer_ok", Map.of());
        ex.sendJson(200, out);
    }

    private static List<String> filterList(String json) {
        if (json == null || json.isBlank()) return List.of();
        try {
            JsonNode n = Exchange.JSON.readTree(json);
            List<String> out = new ArrayList<>();
            if (n.isArray()) n.forEach(x -> out.add(x.asText()));
            else throw new ApiException(400, "validation", "filters must be JSON lists of strings");
            return out;
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "validation", "filter: malformed JSON: " + e.getOriginalMessage());
        }
    }

    /** The original's filter: as many ios as filters, and every filter matches every io of that direction. */
    private static boolean matches(List<Trainer.Io> ios, List<String> filters) {
        if (filters.isEmpty()) return true;
        if (ios.size() != filters.size()) return false;
        for (String f : filters) {
            String[] fp = f.split(":", 3);
            for (Trainer.Io io : ios) {
                String[] tp = io.data().split(":", 3);
                if (!fp[0].equals(tp[0])) return false;
                if (fp.length > 1 && (tp.length < 2 || !fp[1].equals(tp[1]))) return false;
                if (fp.length > 2 && (tp.length < 3 || !fp[2].equals(tp[2]))) return false;
            }
        }
        return true;
    }

    private static void addTrainer(Map<String, String> ok, String rel, Trainer t, List<String> in, List<String> out)
            throws JsonProcessingException {
        if (!matches(t.io().stream().filter(Trainer.Io::isInput).toList(), in)
                || !matches(t.io().stream().filter(io -> !io.isInput()).toList(), out)) {
            return;
        }
        List<Map<String, Object>> io = new ArrayList<>();
        for (Trainer.Io i : t.io()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("type", i.type());
            m.put("id", i.id());
            m.put("data", i.data());
            m.put("default_value", i.defaultValue());
            m.put("default_active", true);
            io.add(m);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model_script_path", t.model().getOrDefault("script", ""));
        m.put("model_option_path", t.model().getOrDefault("option", ""));
        m.put("model_option_string", t.model().getOrDefault("optstr", ""));
        m.put("model_weights_path", t.model().getOrDefault("path", ""));
        m.put("model_stream", 0);
        m.put("model_create", t.model().getOrDefault("create", ""));
        m.put("model_multirole_input", false);
        m.put("users", List.of());
        m.put("classes", List.of());
        m.put("streams", List.of());
        m.put("register", List.of());
        m.put("info_trained", Boolean.parseBoolean(t.info().getOrDefault("trained", "false")));
        m.put("meta_frame_step", t.meta().getOrDefault("frameStep", ""));
        m.put("meta_right_ctx", t.meta().getOrDefault("rightContext", ""));
        m.put("meta_left_ctx", t.meta().getOrDefault("leftContext", ""));
        m.put("meta_balance", t.meta().getOrDefault("balance", "none"));
        m.put("meta_backend", t.meta().getOrDefault("backend", ""));
        m.put("meta_io", Exchange.JSON.writeValueAsString(io));
        m.put("meta_uri", "[]");
        m.put("meta_description", t.meta().getOrDefault("description", ""));
        m.put("meta_is_iterable", Boolean.parseBoolean(t.meta().getOrDefault("is_iterable", "true").toLowerCase(Locale.ROOT)));
        m.put("meta_enable_post_process", Boolean.parseBoolean(t.meta().getOrDefault("enable_post_process", "false")));
        m.put("meta_category", t.meta().getOrDefault("category", ""));
        m.put("ssi_v", Integer.toString(t.version()));
        m.put("xml_version", "1.0");
        // the original nests each trainer as a JSON string
        ok.put(rel, Exchange.JSON.writeValueAsString(m));
    }

    // ---- helpers ----

    /** Form fields for logs and /job_status_all, with credentials masked. */
    private static Map<String, String> sanitize(Map<String, String> form) {
        Map<String, String> out = new LinkedHashMap<>();
        form.forEach((k, v) -> {
            String lk = k.toLowerCase(Locale.ROOT);
            out.put(k, lk.contains("password") || lk.contains("token") || lk.contains("secret") ? "*****" : v);
        });
        return out;
    }

    /** A Python dict repr, as the original prints job details. */
    private static String python(Map<String, String> m) {
        StringBuilder sb = new StringBuilder("{");
        m.forEach((k, v) -> {
            if (sb.length() > 1) sb.append(", ");
            sb.append('\'').append(k.replace("\\", "\\\\").replace("'", "\\'")).append("': '")
                    .append(v.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")).append('\'');
        });
        return sb.append('}').toString();
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Cancels waiting and running jobs and waits for the runner to stop. */
    @Override
    public void close() {
        synchronized (jobs) {
            for (Job j : jobs.values()) {
                if (j.active()) {
                    j.cancelled = true;
                    j.log("cancelled: the server is shutting down");
                }
            }
        }
        runner.shutdown();
        try {
            if (!runner.awaitTermination(options.shutdownTimeoutMs() + 1000, TimeUnit.MILLISECONDS)) runner.shutdownNow();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            runner.shutdownNow();
        }
        deleteTree(work);
    }
}
