package dev.xlmr.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.xlmr.model.CheckpointException;
import dev.xlmr.pipelines.Pipeline;
import java.io.IOException;
import java.io.PrintWriter;
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
 * <p>Stdin streams: a batch is what has arrived so far (at most {@code --batch-size} inputs, see
 * {@link StdinLines}), answered and flushed before more is read, so answers come while the input still
 * arrives and outputs keep the input order. When stdout is closed ({@code | head -1}) the command stops
 * quietly with exit code 0.
 *
 * <p>Inputs are JSON objects internally: a plain line becomes {@code {"text": line}}. A bad stdin
 * input gives {@code {"error": "line N: ..."}} on stdout (outputs stay aligned with the inputs) and
 * the same on stderr; the exit code is then 1. A damaged model ({@link CheckpointException}, e.g. NaN
 * in an output) ends the command instead: exit 1 with one line on stderr. Empty stdin: no output, exit 0.
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
    List<Item> plainInputs(List<StdinLines.Line> lines) {
        List<Item> items = new ArrayList<>(lines.size());
        for (StdinLines.Line l : lines) {
            items.add(new Item(l.number(), text(l.text()), null));
        }
        return items;
    }

    /** Whether plain stdin lines make one input together (rerank: the texts of one ranking), read to the end. */
    boolean wholeStdin() {
        return false;
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
        if (!given.isEmpty()) {
            // command-line inputs: errors end the command (exit 1 with one line on stderr)
            try (Pipeline pipeline = openPipeline(err)) {
                List<Object> results = run(pipeline, given);
                for (int i = 0; i < given.size(); i++) {
                    print(out, given.get(i), results.get(i));
                }
                return 0;
            }
        }
        // stdin streams: each batch is what has arrived so far (at most --batch-size), answered before
        // more is read, so that outputs come while the input still arrives
        try (StdinLines stdin = new StdinLines(Main.stdin, (int) Math.min(2L * batchSize + 64, 1 << 16))) {
            List<Item> items = nextItems(stdin);
            try (Pipeline pipeline = openPipeline(err)) {
                // empty stdin: no output and exit 0 (as tokenize and forward), once the model loaded
                return answer(pipeline, stdin, items, out, err);
            }
        }
    }

    private Pipeline openPipeline(PrintWriter err) {
        Pipeline pipeline = open(model, revision);
        pipeline.batchSize(batchSize);
        pipeline.warnings(w -> {
            err.println(w);
            err.flush();
        });
        return pipeline;
    }

    /** Answers the stdin batches in input order; stops quietly (exit 0) when stdout is closed. */
    private int answer(Pipeline pipeline, StdinLines stdin, List<Item> items, PrintWriter out, PrintWriter err) {
        int failures = 0;
        long done = 0;
        ProgressBar bar = Boolean.TRUE.equals(progress) ? progressBar() : null;
        try {
            while (!items.isEmpty()) {
                List<Object> results = runIsolated(pipeline, items, err);
                for (int i = 0; i < items.size(); i++) {
                    Object r = results.get(i);
                    if (r instanceof Failure f) {
                        failures++;
                        out.println(json(Map.of("error", f.message())));
                    } else {
                        print(out, items.get(i).input(), r);
                    }
                }
                out.flush();
                if (out.checkError()) {
                    return 0; // stdout was closed (`| head -1`): nobody reads the rest
                }
                done += items.size();
                if (bar == null && progress == null && done > batchSize && stderrTerminal()) {
                    bar = progressBar(); // a long run: the total is unknown while stdin streams
                }
                if (bar != null) {
                    bar.stepTo(done);
                }
                items = nextItems(stdin);
            }
        } finally {
            if (bar != null) {
                bar.close();
            }
        }
        err.flush();
        return failures == 0 ? 0 : 1;
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
            } catch (CheckpointException e) {
                throw e; // the model is damaged (NaN output...): no input would get an answer
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
                } catch (CheckpointException e) {
                    throw e;
                } catch (RuntimeException e) {
                    error = Main.message(e); // also a TokenizerException (a regex over its step budget)
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

    /** The next batch of stdin inputs; empty at the end of the input. */
    private List<Item> nextItems(StdinLines stdin) {
        if (!jsonl && wholeStdin()) {
            List<StdinLines.Line> all = stdin.all();
            return all.isEmpty() ? List.of() : plainInputs(all);
        }
        while (true) {
            List<StdinLines.Line> lines = stdin.next(batchSize);
            if (lines.isEmpty()) {
                return List.of();
            }
            if (!jsonl) {
                return plainInputs(lines);
            }
            List<Item> items = new ArrayList<>();
            for (StdinLines.Line l : lines) {
                if (l.text().isBlank()) {
                    continue;
                }
                try {
                    JsonNode n = JsonLines.JSON.readTree(l.text());
                    if (n == null || !n.isObject()) {
                        items.add(new Item(l.number(), null, "expected a JSON object"));
                    } else {
                        items.add(new Item(l.number(), n, null));
                    }
                } catch (JsonProcessingException e) {
                    items.add(new Item(l.number(), null, "not valid JSON: " + e.getOriginalMessage()));
                }
            }
            if (!items.isEmpty()) {
                return items;
            }
        }
    }

    /** A bar with an unknown total (-1: the input is still arriving), count and speed. */
    private ProgressBar progressBar() {
        return new ProgressBarBuilder()
                .setTaskName(spec.name())
                .setInitialMax(-1)
                .setStyle(ProgressBarStyle.ASCII)
                .showSpeed()
                .setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(System.err))
                .build();
    }

    private Boolean stderrTerminal;

    private boolean stderrTerminal() {
        if (stderrTerminal == null) {
            stderrTerminal = stderrIsTerminal();
        }
        return stderrTerminal;
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
