package dev.xlmr.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of {@code ./xlmr}: one picocli subcommand per task.
 *
 * <pre>{@code
 * ./xlmr tokenize --model fixtures/xlmr-base < lines.jsonl
 * }</pre>
 *
 * Exit codes: 0 success, 1 runtime error (one line on stderr), 2 usage error.
 */
@Command(name = "xlmr", mixinStandardHelpOptions = true, version = "xlmr 0.1.0",
        description = "XLM-RoBERTa for the JVM: tokenizer, model, tasks.",
        subcommands = {TokenizeCommand.class, DownloadCommand.class})
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (used by tests). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            String msg = ex.getMessage() == null ? ex.toString() : ex.getMessage();
            cmd.getErr().println("xlmr: " + msg.lines().findFirst().orElse(msg));
            return 1;
        });
        return cl.execute(args);
    }
}
