package dev.xlmr.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.pipelines.FillMaskPipeline;
import dev.xlmr.pipelines.Pipeline;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./xlmr fill-mask}: transformers' fill-mask pipeline. */
@Command(name = "fill-mask", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Predict the <mask> tokens of texts, as transformers' pipeline(\"fill-mask\").",
                "Prints per text a JSON array of {score, token, token_str, sequence} (an array per mask when there are several).",
                "Without TEXT, reads one text per line from stdin (or JSON lines {\"text\": ...} with --jsonl).",
                "",
                "Example:",
                "  ./xlmr fill-mask --model xlm-roberta-base --top-k 3 \"Paris is the <mask> of France.\""})
final class FillMaskCommand extends TaskCommand {
    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "Texts with <mask>.")
    List<String> texts;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "5", description = "Predictions per mask (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--targets", paramLabel = "T", split = ",", description = "Only these tokens (comma-separated).")
    List<String> targets;

    @Override
    void validate() {
        checkTopK(topK);
    }

    @Override
    List<JsonNode> commandLineInputs() {
        return texts(texts);
    }

    @Override
    Pipeline open(String m, String rev) {
        return FillMaskPipeline.load(m, rev);
    }

    @Override
    List<Object> run(Pipeline p, List<JsonNode> inputs) {
        List<String> ts = new ArrayList<>();
        for (JsonNode in : inputs) {
            ts.add(field(in, "text"));
        }
        var res = ((FillMaskPipeline) p).fillAll(ts, new FillMaskPipeline.Options(topK, targets));
        List<Object> out = new ArrayList<>();
        for (var perMask : res) {
            List<Object> masks = new ArrayList<>();
            for (var preds : perMask) {
                masks.add(preds.stream().map(FillMaskPipeline.Prediction::toMap).toList());
            }
            out.add(masks.size() == 1 ? masks.get(0) : masks);
        }
        return out;
    }

    @Override
    @SuppressWarnings("unchecked")
    String table(JsonNode input, Object result) {
        StringBuilder sb = new StringBuilder(cell(field(input, "text"))).append('\n');
        List<Object> list = (List<Object>) result;
        List<List<java.util.Map<String, Object>>> masks = !list.isEmpty() && list.get(0) instanceof List
                ? (List<List<java.util.Map<String, Object>>>) (List<?>) list
                : List.of((List<java.util.Map<String, Object>>) (List<?>) list);
        for (int m = 0; m < masks.size(); m++) {
            if (masks.size() > 1) {
                sb.append("mask ").append(m + 1).append('\n');
            }
            sb.append(String.format("  %-8s %-8s %-20s %s%n", "score", "token", "token_str", "sequence"));
            for (var r : masks.get(m)) {
                sb.append(String.format("  %-8s %-8s %-20s %s%n", score(r.get("score")), r.get("token"),
                        cell(r.get("token_str")), cell(r.get("sequence"))));
            }
        }
        return sb.toString().stripTrailing();
    }
}
