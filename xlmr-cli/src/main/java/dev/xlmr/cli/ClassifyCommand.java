package dev.xlmr.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.pipelines.Pipeline;
import dev.xlmr.pipelines.TextClassificationPipeline;
import dev.xlmr.pipelines.TextClassificationPipeline.Function;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./xlmr classify}: transformers' text-classification pipeline. */
@Command(name = "classify", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Classify texts (or text pairs), as transformers' pipeline(\"text-classification\").",
                "Prints per text a JSON array of {label, score}, best first (the best one unless --top-k).",
                "Without TEXT, reads one text per line from stdin (or JSON lines {\"text\": ..., \"text_pair\": ...} with --jsonl).",
                "Texts longer than the model allows are truncated with a warning.",
                "",
                "Example:",
                "  ./xlmr classify --model testdata/xlmr-seqcls --top-k 3 \"Hello world!\""})
final class ClassifyCommand extends TaskCommand {
    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "Texts to classify.")
    List<String> texts;

    @Option(names = "--text-pair", paramLabel = "T", description = "Second text of a pair, for the texts of the command line.")
    String textPair;

    @Option(names = "--top-k", paramLabel = "N", description = "Labels per text, best first (all when N >= the number of labels; default 1).")
    Integer topK;

    @Option(names = "--function-to-apply", paramLabel = "F",
            description = "softmax, sigmoid or none (default: as transformers, from problem_type and the number of labels).")
    String function;

    Function parsedFunction;

    @Override
    void validate() {
        checkTopK(topK);
        if (function != null) {
            try {
                parsedFunction = Function.parse(function);
            } catch (IllegalArgumentException e) {
                throw usage("--function-to-apply: " + e.getMessage());
            }
        }
    }

    @Override
    List<JsonNode> commandLineInputs() {
        List<JsonNode> in = texts(texts);
        if (textPair != null) {
            in.forEach(n -> ((com.fasterxml.jackson.databind.node.ObjectNode) n).put("text_pair", textPair));
        }
        return in;
    }

    @Override
    Pipeline open(String m, String rev) {
        return TextClassificationPipeline.load(m, rev);
    }

    @Override
    List<Object> run(Pipeline p, List<JsonNode> inputs) {
        List<String> ts = new ArrayList<>();
        List<String> pairs = new ArrayList<>();
        for (JsonNode in : inputs) {
            ts.add(field(in, "text"));
            pairs.add(field(in, "text_pair", null));
        }
        boolean anyPair = pairs.stream().anyMatch(x -> x != null);
        var res = ((TextClassificationPipeline) p).classifyAll(ts, anyPair ? pairs : null,
                new TextClassificationPipeline.Options(topK == null ? 1 : topK, parsedFunction));
        List<Object> out = new ArrayList<>();
        for (var labels : res) {
            out.add(labels.stream().map(TextClassificationPipeline.Label::toMap).toList());
        }
        return out;
    }

    @Override
    @SuppressWarnings("unchecked")
    String table(JsonNode input, Object result) {
        StringBuilder sb = new StringBuilder(cell(field(input, "text")));
        for (Map<String, Object> l : (List<Map<String, Object>>) result) {
            sb.append('\t').append(cell(l.get("label"))).append(' ').append(score(l.get("score")));
        }
        return sb.toString();
    }
}
