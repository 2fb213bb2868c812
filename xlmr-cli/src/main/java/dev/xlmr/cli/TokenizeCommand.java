package dev.xlmr.cli;

import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code ./xlmr tokenize}: JSON lines in, ids/tokens/offsets out. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Tokenize JSON lines {\"text\": ..., \"text_pair\": ...} from stdin.",
                "Writes one JSON line {\"ids\", \"tokens\", \"offsets\"} per input (offsets in code points).",
                "",
                "Example:",
                "  echo '{\"text\": \"Hello world\"}' | ./xlmr tokenize --model testdata/xlmr-base"})
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "Model folder with tokenizer.json or sentencepiece.bpe.model.")
    Path model;

    @Option(names = "--tokenizer", defaultValue = "auto",
            description = "auto (tokenizer.json when present), sentencepiece or json. Default: ${DEFAULT-VALUE}.")
    String tokenizer;

    @Option(names = "--max-length", defaultValue = "0", description = "Truncate to N tokens including special tokens (0: no limit; at least the special tokens of a text).")
    int maxLength;

    @Option(names = "--truncation", defaultValue = "longest_first",
            description = "longest_first, only_first, only_second or do_not_truncate. Default: ${DEFAULT-VALUE}.")
    String truncation;

    @Option(names = "--stride", defaultValue = "0", description = "Overlap of overflowing windows; returns them as \"overflowing\".")
    int stride;

    @Option(names = "--no-special-tokens", description = "Do not add <s> and </s>.")
    boolean noSpecialTokens;

    @Override
    public Integer call() {
        XlmRobertaTokenizer.Format format = switch (tokenizer) {
            case "auto" -> XlmRobertaTokenizer.Format.AUTO;
            case "sentencepiece" -> XlmRobertaTokenizer.Format.SENTENCEPIECE;
            case "json" -> XlmRobertaTokenizer.Format.JSON;
            default -> throw new ParameterException(spec.commandLine(),
                    "--tokenizer must be auto, sentencepiece or json (got '" + tokenizer + "')");
        };
        EncodeOptions.Truncation strategy;
        try {
            strategy = EncodeOptions.Truncation.valueOf(truncation.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(),
                    "--truncation must be longest_first, only_first, only_second or do_not_truncate (got '" + truncation + "')");
        }
        if (maxLength < 0 || stride < 0) {
            throw new ParameterException(spec.commandLine(), "--max-length and --stride must be >= 0");
        }
        if (stride > 0 && maxLength == 0) {
            throw new ParameterException(spec.commandLine(), "--stride needs --max-length");
        }
        XlmRobertaTokenizer tok = XlmRobertaTokenizer.load(model, format);
        EncodeOptions opts = EncodeOptions.defaults().addSpecialTokens(!noSpecialTokens).maxLength(maxLength)
                .truncation(strategy);
        if (stride > 0) {
            opts = opts.stride(stride);
        }
        EncodeOptions options = opts;
        if (maxLength > 0) {
            // an option problem (a limit below the special tokens) is a usage error before any input is
            // read, not an error on every line; a text pair needing more specials fails its own line
            try {
                tok.encode("", null, options);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--max-length " + maxLength + ": " + e.getMessage());
            }
        }
        return JsonLines.process(spec.commandLine().getOut(), spec.commandLine().getErr(), input -> {
            String text = JsonLines.text(input, "text");
            String pair = JsonLines.optionalText(input, "text_pair");
            Encoding e = tok.encode(text, pair, options);
            Map<String, Object> out = toJson(e, text, pair);
            if (!e.overflowing().isEmpty()) {
                List<Object> windows = new ArrayList<>();
                for (Encoding o : e.overflowing()) {
                    windows.add(toJson(o, text, pair));
                }
                out.put("overflowing", windows);
            }
            return out;
        });
    }

    private static Map<String, Object> toJson(Encoding e, String text, String pair) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("ids", e.ids());
        out.put("tokens", e.tokens());
        out.put("offsets", e.codePointOffsets(text, pair));
        return out;
    }
}
