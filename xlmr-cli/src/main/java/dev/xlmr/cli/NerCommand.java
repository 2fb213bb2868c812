package dev.xlmr.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.pipelines.Pipeline;
import dev.xlmr.pipelines.TokenClassificationPipeline;
import dev.xlmr.pipelines.TokenClassificationPipeline.Aggregation;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./xlmr ner}: transformers' token-classification pipeline. */
@Command(name = "ner", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Named entities (token classification), as transformers' pipeline(\"ner\") with a fast tokenizer.",
                "Prints per text a JSON array of {entity, score, index, word, start, end} (aggregation none) or",
                "{entity_group, score, word, start, end}; start/end are character (code point) offsets.",
                "Long texts run in overlapping windows. Without TEXT, reads one text per line from stdin (or JSON lines with --jsonl).",
                "",
                "Example:",
                "  ./xlmr ner --model testdata/xlmr-tokcls --aggregation simple \"Angela Merkel ist in Berlin.\""})
final class NerCommand extends TaskCommand {
    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "Texts.")
    List<String> texts;

    @Option(names = "--aggregation", paramLabel = "S", defaultValue = "none",
            description = "none, simple, first, average or max (default: ${DEFAULT-VALUE}).")
    String aggregation;

    @Option(names = "--ignore-labels", paramLabel = "L", split = ",", description = "Labels to leave out (default: O).")
    List<String> ignoreLabels;

    @Option(names = "--stride", paramLabel = "N",
            description = "Overlap in tokens of the windows of long texts (default: a quarter of the window).")
    Integer stride;

    Aggregation parsed;

    @Override
    void validate() {
        try {
            parsed = Aggregation.parse(aggregation);
        } catch (IllegalArgumentException e) {
            throw usage("--aggregation: " + e.getMessage());
        }
        if (stride != null && stride < 0) {
            throw usage("--stride must be >= 0 (got " + stride + ")");
        }
    }

    @Override
    List<JsonNode> commandLineInputs() {
        return texts(texts);
    }

    @Override
    Pipeline open(String m, String rev) {
        return TokenClassificationPipeline.load(m, rev);
    }

    @Override
    List<Object> run(Pipeline p, List<JsonNode> inputs) {
        List<String> ts = new ArrayList<>();
        for (JsonNode in : inputs) {
            ts.add(field(in, "text"));
        }
        var res = ((TokenClassificationPipeline) p).recognizeAll(ts,
                new TokenClassificationPipeline.Options(parsed, ignoreLabels, stride == null ? -1 : stride));
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < res.size(); i++) {
            String t = ts.get(i);
            out.add(res.get(i).stream().map(e -> e.toMap(t)).toList());
        }
        return out;
    }

    @Override
    @SuppressWarnings("unchecked")
    String table(JsonNode input, Object result) {
        StringBuilder sb = new StringBuilder(cell(field(input, "text"))).append('\n');
        for (Map<String, Object> e : (List<Map<String, Object>>) result) {
            Object label = e.containsKey("entity") ? e.get("entity") : e.get("entity_group");
            sb.append(String.format("  %-8s %s  %s..%s  %s%n", cell(label), score(e.get("score")), e.get("start"),
                    e.get("end"), cell(e.get("word"))));
        }
        return sb.toString().stripTrailing();
    }
}
