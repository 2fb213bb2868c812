package dev.xlmr.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.xlmr.pipelines.MultipleChoicePipeline;
import dev.xlmr.pipelines.Pipeline;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./xlmr choice}: multiple choice. */
@Command(name = "choice", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Multiple choice (XLMRobertaForMultipleChoice): scores each (question, choice) pair, softmax over the choices.",
                "Prints a JSON array of {choice, index, score}, best first.",
                "Without CHOICE arguments, reads JSON lines {\"question\": ..., \"choices\": [...]} from stdin.",
                "",
                "Example:",
                "  ./xlmr choice --model testdata/xlmr-mc --question \"Where is the file?\" \"In the home directory.\" \"Nothing to see here.\""})
final class ChoiceCommand extends TaskCommand {
    @Option(names = "--question", paramLabel = "Q", description = "The question (or context) the choices answer.")
    String question;

    @Parameters(paramLabel = "CHOICE", arity = "0..*", description = "The choices.")
    List<String> choices;

    @Override
    void validate() {
        if (choices != null && !choices.isEmpty() && question == null) {
            throw usage("give the --question of the choices");
        }
        jsonl = true;
    }

    @Override
    List<JsonNode> commandLineInputs() {
        if (choices == null || choices.isEmpty()) {
            return List.of();
        }
        ObjectNode n = JsonLines.JSON.createObjectNode();
        n.put("question", question);
        choices.forEach(n.putArray("choices")::add);
        return List.of(n);
    }

    @Override
    Pipeline open(String m, String rev) {
        return MultipleChoicePipeline.load(m, rev);
    }

    @Override
    List<Object> run(Pipeline p, List<JsonNode> inputs) {
        List<String> qs = new ArrayList<>();
        List<List<String>> cs = new ArrayList<>();
        for (JsonNode in : inputs) {
            qs.add(question != null && !in.has("question") ? question : field(in, "question"));
            cs.add(strings(in, "choices", null));
        }
        List<Object> out = new ArrayList<>();
        for (var r : ((MultipleChoicePipeline) p).chooseAll(qs, cs)) {
            out.add(r.stream().map(MultipleChoicePipeline.Choice::toMap).toList());
        }
        return out;
    }

    @Override
    @SuppressWarnings("unchecked")
    String table(JsonNode input, Object result) {
        StringBuilder sb = new StringBuilder(cell(input.path("question").asText(""))).append('\n');
        for (Map<String, Object> c : (List<Map<String, Object>>) result) {
            sb.append(String.format("  %s  #%s  %s%n", score(c.get("score")), c.get("index"), cell(c.get("choice"))));
        }
        return sb.toString().stripTrailing();
    }
}
