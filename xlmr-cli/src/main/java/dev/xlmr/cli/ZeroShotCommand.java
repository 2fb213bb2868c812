package dev.xlmr.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.pipelines.Pipeline;
import dev.xlmr.pipelines.ZeroShotClassificationPipeline;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./xlmr zero-shot}: transformers' zero-shot-classification pipeline. */
@Command(name = "zero-shot", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Classify texts among candidate labels with an NLI model, as transformers' pipeline(\"zero-shot-classification\").",
                "Prints per text a JSON object {sequence, labels, scores}, best first.",
                "Without TEXT, reads one text per line from stdin (or JSON lines {\"text\": ..., \"candidate_labels\": [...]} with --jsonl).",
                "",
                "Example:",
                "  ./xlmr zero-shot --model testdata/xlmr-nli --labels technology,sport,politics \"Hello world!\""})
final class ZeroShotCommand extends TaskCommand {
    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "Texts to classify.")
    List<String> texts;

    @Option(names = "--labels", paramLabel = "L", split = ",", description = "Candidate labels, comma-separated.")
    List<String> labels;

    @Option(names = "--multi-label", description = "Score every label on its own (entailment vs contradiction).")
    boolean multiLabel;

    @Option(names = "--template", paramLabel = "T", defaultValue = ZeroShotClassificationPipeline.DEFAULT_TEMPLATE,
            description = "Hypothesis template with {} for the label (default: \"${DEFAULT-VALUE}\").")
    String template;

    @Override
    void validate() {
        if (!template.contains("{}")) {
            throw usage("--template must contain {} where the label goes (got \"" + template + "\")");
        }
        if (labels != null && labels.stream().allMatch(l -> l.isBlank())) {
            throw usage("--labels has no label");
        }
        if (labels == null && !jsonl) {
            throw usage("give the candidate labels with --labels a,b,c");
        }
    }

    @Override
    List<JsonNode> commandLineInputs() {
        return texts(texts);
    }

    @Override
    Pipeline open(String m, String rev) {
        return ZeroShotClassificationPipeline.load(m, rev);
    }

    @Override
    List<Object> run(Pipeline p, List<JsonNode> inputs) {
        var zs = (ZeroShotClassificationPipeline) p;
        var options = new ZeroShotClassificationPipeline.Options(template, multiLabel);
        List<Object> out = new ArrayList<>();
        if (inputs.stream().noneMatch(in -> in.has("candidate_labels"))) {
            List<String> ts = new ArrayList<>();
            for (JsonNode in : inputs) {
                ts.add(field(in, "text"));
            }
            for (var r : zs.classifyAll(ts, labels, options)) {
                out.add(r.toMap());
            }
            return out;
        }
        for (JsonNode in : inputs) {
            out.add(zs.classify(field(in, "text"), strings(in, "candidate_labels", labels), options).toMap());
        }
        return out;
    }

    @Override
    @SuppressWarnings("unchecked")
    String table(JsonNode input, Object result) {
        Map<String, Object> m = (Map<String, Object>) result;
        StringBuilder sb = new StringBuilder(cell(m.get("sequence")));
        List<Object> ls = (List<Object>) m.get("labels");
        List<Object> ss = (List<Object>) m.get("scores");
        for (int i = 0; i < ls.size(); i++) {
            sb.append('\t').append(cell(ls.get(i))).append(' ').append(score(ss.get(i)));
        }
        return sb.toString();
    }
}
