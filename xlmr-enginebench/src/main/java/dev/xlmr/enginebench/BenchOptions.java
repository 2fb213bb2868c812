package dev.xlmr.enginebench;

import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The options both benchmarks take ({@link EngineBench}, {@link UserPass}), as a picocli mixin, and the parse
 * that prints {@code --help} and answers a bad option with one line.
 *
 * <pre>{@code
 * @Command(name = "MyBench", mixinStandardHelpOptions = true)
 * final class Options { @Mixin BenchOptions common = new BenchOptions(); }
 * Options o = BenchOptions.parse(new Options(), argv);
 * }</pre>
 */
final class BenchOptions {
    @Option(names = "--model", description = "config.json, model.safetensors, model.onnx, tokenizer.json "
            + "(default $XLMR_BENCH_DIR or /tmp/xlmr-bench-base)")
    Path model = Path.of(System.getenv().getOrDefault("XLMR_BENCH_DIR", "/tmp/xlmr-bench-base"));

    @Option(names = "--texts", description = "one sentence a line (default: the tokenizer test sentences)")
    Path texts = Path.of("testdata/tokenizer/tok_public.txt");

    @Option(names = "--sentences", description = "how many sentences (default ${DEFAULT-VALUE})")
    int sentences = 1000;

    @Option(names = "--batch", description = "texts per batch (default ${DEFAULT-VALUE})")
    int batch = 32;

    @Option(names = "--threads", description = "threads of each engine (default ${DEFAULT-VALUE})")
    int threads = 2;

    /** Fills {@code command}'s options from {@code argv}; prints the usage and exits on --help, one line and exit 2 on a bad option. */
    static <T> T parse(T command, String[] argv) {
        CommandLine cl = new CommandLine(command);
        try {
            cl.parseArgs(argv);
        } catch (CommandLine.ParameterException e) {
            System.err.println(cl.getCommandName() + ": " + e.getMessage() + " (--help lists the options)");
            System.exit(2);
        }
        if (cl.isUsageHelpRequested()) {
            cl.usage(System.out);
            System.exit(0);
        }
        return command;
    }
}
