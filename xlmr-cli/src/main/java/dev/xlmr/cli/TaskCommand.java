package dev.xlmr.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.xlmr.pipelines.Pipeline;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * What the task commands share: {@code --model} (folder or hub id) and {@code --revision}, inputs from
 * the command line or from stdin (one text per line, or JSON lines with {@code --jsonl}), batches,
 * JSON or table output, and a progress bar on stderr for long runs when stderr is a terminal.
 *
 * <p>Inputs are JSON objects internally: a plain line becomes {@code {"text": line}}. A bad stdin
 * input gives {@code {"error": "line N: ..."}} on stdout (outputs stay aligned with the inputs) and
 * the same on stderr; the exit code is then 1.
 */
abstract class TaskCommand implements Callable<Integer> {
    /** Output formats. */
    enum Format { json, table }

    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = "Model folder or Hugging Face hub id (org/name), downloaded into the shared cache.")
    String model;

    @Option(names = "--revision", paramLabel = "R", description = "Hub branch, tag or commit (default: main).")
    String revision;

    @Option(names = "--format", paramLabel = "F", defaultValue = "json",
            description = "json (default: transformers' JSON, one line per input) or table (for people).")
    Format format;

    @Option(names = "--jsonl", description = "Read JSON lines from stdin instead of one text per line.")
    boolean jsonl;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "32",
            description = "Sequences per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--progress", negatable = true,
            description = "Progress bar on stderr for many inputs (default: when stderr is a terminal).")
    Boolean progress;

    @Spec
    CommandSpec spec;

    /** One input with its stdin line number (0 for the command line), or the error that line gave. */
    record Item(int line, JsonNode input, String error) {}

    /** Checks options before anything is loaded; throws {@link #usage}. */
    void validate() {}

    /** Inputs given on the command line; empty to read stdin. */
    abstract List<JsonNode> commandLineInputs();

    /** Loads the pipeline. */
    abstract Pipeline open(String modelDirOrId, String revision);

    /** Runs a batch of inputs; one JSON-able result (maps, lists, numbers, strings) per input. */
    abstract List<Object> run(Pipeline pipeline, List<JsonNode> inputs);

    /** The result for people. */
    abstract String table(JsonNode input, Object result);

    /** Turns plain stdin lines into inputs (default: each line is {@code {"text": line}}). */
    List<Item> plainInputs(List<String> lines) {
        List<Item> items = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            items.add(new Item(i + 1, text(lines.get(i)), null));
        }
        return items;
    }

    ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    static ObjectNode text(String s) {
        ObjectNode n = JsonLines.JSON.createObjectNode();
        n.put("text", s);
        return n;
    }

    /** A --top-k value: at least 1. */
    void checkTopK(Integer k) {
        if (k != null && k < 1) {
            throw usage("--top-k must be at least 1 (got " + k + ")");
        }
    }

    /** Texts from the command line as {"text": ...} inputs. */
    static List<JsonNode> texts(List<String> texts) {
        List<JsonNode> out = new ArrayList<>();
        if (texts != null) {
            for (String t : texts) {
                out.add(text(t));
            }
        }
        return out;
    }

    @Override
    public Integer call() {
        if (batchSize < 1) {
            throw usage("--batch-size must be at least 1 (got " + batchSize + ")");
        }
        validate();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<JsonNode> given = commandLineInputs();
        List<Item> items;
        boolean fromStdin = given.isEmpty();
        if (fromStdin) {
            items = readStdin();
            if (items.isEmpty()) {
                throw usage("no input: give a text on the command line or lines on stdin");
            }
        } else {
            items = new ArrayList<>();
            for (JsonNode n : given) {
                items.add(new Item(0, n, null));
            }
        }
        try (Pipeline pipeline = open(model, revision)) {
            pipeline.batchSize(batchSize);
            pipeline.warnings(w -> {
                err.println(w);
                err.flush();
            });
            if (!fromStdin) {
                // command-line inputs: errors end the command (exit 1 with one line on stderr)
                List<Object> results = run(pipeline, given);
                for (int i = 0; i < given.size(); i++) {
                    print(out, given.get(i), results.get(i));
                }
                return 0;
            }
            int failures = 0;
            try (ProgressBar bar = progressBar(items.size())) {
                int chunk = Math.max(batchSize, 1);
                for (int from = 0; from < items.size(); from += chunk) {
                    List<Item> part = items.subList(from, Math.min(items.size(), from + chunk));
                    List<Object> results = runIsolated(pipeline, part, err);
                    for (int i = 0; i < part.size(); i++) {
                        Object r = results.get(i);
                        if (r instanceof Failure f) {
                            failures++;
                            out.println(json(Map.of("error", f.message())));
                        } else {
                            print(out, part.get(i).input(), r);
                        }
                    }
                    out.flush();
                    if (bar != null) {
                        bar.stepBy(part.size());
                    }
                }
            }
            err.flush();
            return failures == 0 ? 0 : 1;
        }
    }

    private record Failure(String message) {}

    /** Runs a chunk; when it fails, each input alone so that one bad input fails only its own line. */
    private List<Object> runIsolated(Pipeline pipeline, List<Item> part, PrintWriter err) {
        List<JsonNode> good = new ArrayList<>();
        for (Item it : part) {
            if (it.error() == null) {
                good.add(it.input());
            }
        }
        List<Object> batch = null;
        if (good.size() == part.size()) {
            try {
                batch = run(pipeline, good);
            } catch (RuntimeException e) {
                batch = null;
            }
        }
        if (batch != null) {
            return batch;
        }
        List<Object> out = new ArrayList<>();
        for (Item it : part) {
            String error = it.error();
            if (error == null) {
                try {
                    out.add(run(pipeline, List.of(it.input())).get(0));
                    continue;
                } catch (RuntimeException e) {
                    String m = e.getMessage() == null ? e.toString() : e.getMessage();
                    error = m.lines().findFirst().orElse(m);
                }
            }
            String msg = "line " + it.line() + ": " + error;
            err.println("xlmr: " + msg);
            out.add(new Failure(msg));
        }
        err.flush();
        return out;
    }

    private void print(PrintWriter out, JsonNode input, Object result) {
        if (format == Format.table) {
            out.println(table(input, result));
        } else {
            out.println(json(result));
        }
    }

    static String json(Object o) {
        try {
            return JsonLines.JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private List<Item> readStdin() {
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(Main.stdin, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                lines.add(line);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read standard input: " + e.getMessage(), e);
        }
        if (!jsonl) {
            return plainInputs(lines);
        }
        List<Item> items = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            try {
                JsonNode n = JsonLines.JSON.readTree(line);
                if (n == null || !n.isObject()) {
                    items.add(new Item(i + 1, null, "expected a JSON object"));
                } else {
                    items.add(new Item(i + 1, n, null));
                }
            } catch (JsonProcessingException e) {
                items.add(new Item(i + 1, null, "not valid JSON: " + e.getOriginalMessage()));
            }
        }
        return items;
    }

    private ProgressBar progressBar(int total) {
        boolean show = progress != null ? progress : total > batchSize && stderrIsTerminal();
        if (!show) {
            return null;
        }
        return new ProgressBarBuilder()
                .setTaskName(spec.name())
                .setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII)
                .showSpeed()
                .setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(System.err))
                .build();
    }

    /** isatty(2): on Linux /proc tells where stderr goes; elsewhere the console. */
    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            var console = System.console();
            return console != null && console.isTerminal();
        }
    }

    // ---- input fields ---------------------------------------------------------------------------

    /** A required string field of an input. */
    static String field(JsonNode input, String name) {
        return JsonLines.text(input, name);
    }

    /** An optional string field, or the fallback. */
    static String field(JsonNode input, String name, String fallback) {
        String v = JsonLines.optionalText(input, name);
        return v != null ? v : fallback;
    }

    /** A required array of strings (or a comma-separated string). */
    static List<String> strings(JsonNode input, String name, List<String> fallback) {
        JsonNode v = input.get(name);
        if (v == null || v.isNull()) {
            if (fallback == null) {
                throw new IllegalArgumentException("missing field \"" + name + "\"");
            }
            return fallback;
        }
        List<String> out = new ArrayList<>();
        if (v.isTextual()) {
            for (String s : v.asText().split(",")) {
                out.add(s);
            }
            return out;
        }
        if (!v.isArray()) {
            throw new IllegalArgumentException("field \"" + name + "\" must be an array of strings");
        }
        for (JsonNode x : v) {
            if (!x.isTextual()) {
                throw new IllegalArgumentException("field \"" + name + "\" must be an array of strings");
            }
            out.add(x.asText());
        }
        return out;
    }

    /** Scores for tables. */
    static String score(Object o) {
        return String.format(Locale.ROOT, "%.4f", ((Number) o).doubleValue());
    }

    /** Text cells without line breaks or tabs. */
    static String cell(Object o) {
        return String.valueOf(o).replace('\n', ' ').replace('\t', ' ').replace('\r', ' ');
    }
}
