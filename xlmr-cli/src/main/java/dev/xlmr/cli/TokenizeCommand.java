package dev.xlmr.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "tokenize", mixinStandardHelpOptions = true, description = "Tokenize JSON lines from stdin.")
final class TokenizeCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        return 0;
    }
}
