package dev.xlmr.cli;

import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of {@code ./xlmr}: one picocli subcommand per task.
 *
 * <pre>{@code
 * echo '{"text": "Hello world"}' | ./xlmr tokenize --model testdata/xlmr-base
 * }</pre>
 *
 * Exit codes: 0 success, 1 runtime error (one line on stderr), 2 usage error.
 */
@Command(name = "xlmr", mixinStandardHelpOptions = true, version = "xlmr 0.1.0",
        description = "XLM-RoBERTa for the JVM: tokenizer, model, tasks.",
        subcommands = {TokenizeCommand.class, ForwardCommand.class, DownloadCommand.class, FillMaskCommand.class,
                EmbedCommand.class, ClassifyCommand.class, ZeroShotCommand.class, NerCommand.class, QaCommand.class,
                ChoiceCommand.class, RerankCommand.class, SimilarityCommand.class, ServeCommand.class,
                NovaCommand.class, TrainStepCommand.class, TrainCommand.class})
public final class Main {
    /** Standard input of the running command (replaceable by tests). */
    static InputStream stdin = System.in;

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(System.in, System.out, System.err, args));
    }

    /** Longest quoted text (an echoed input) kept in a message. */
    static final int QUOTE_LIMIT = 60;
    /** Longest message kept. */
    static final int MESSAGE_LIMIT = 500;

    private static final java.util.regex.Pattern LONG_QUOTE =
            java.util.regex.Pattern.compile("\"([^\"]{" + QUOTE_LIMIT + "})[^\"]+\"");

    /**
     * An error's message as one short line: its first line, a quoted input longer than
     * {@value #QUOTE_LIMIT} chars cut (fill-mask's error must not echo a 5 MB text), at most
     * {@value #MESSAGE_LIMIT} chars.
     */
    static String message(Throwable e) {
        String m = e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : e.getMessage();
        return shorten(m);
    }

    static String shorten(String m) {
        String line = m.lines().findFirst().orElse("");
        if (line.length() > QUOTE_LIMIT) {
            line = LONG_QUOTE.matcher(line).replaceAll("\"$1...\"");
        }
        return line.length() <= MESSAGE_LIMIT ? line : line.substring(0, MESSAGE_LIMIT) + "...";
    }

    /** Runs the command line on the given streams and returns its exit code. */
    public static int run(InputStream in, PrintStream out, PrintStream err, String... args) {
        stdin = in;
        CommandLine cl = new CommandLine(new Main());
        // PrintWriter over the PrintStream itself: its checkError() then sees a closed stdout (EPIPE)
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(new java.io.OutputStreamWriter(err, StandardCharsets.UTF_8), true));
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("xlmr: " + message(ex));
            cmd.getErr().flush();
            return 1;
        });
        try {
            return cl.execute(args);
        } finally {
            cl.getOut().flush();
            cl.getErr().flush();
        }
    }
}
