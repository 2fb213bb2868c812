package dev.xlmr.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.xlmr.pipelines.Pipeline;
import dev.xlmr.pipelines.QuestionAnsweringPipeline;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./xlmr qa}: transformers' question-answering pipeline. */
@Command(name = "qa", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Extractive question answering, as transformers' pipeline(\"question-answering\").",
                "Prints {score, start, end, answer} (an array of them when --top-k > 1); start/end are character (code point) offsets.",
                "Long contexts run in windows of --max-seq-len tokens overlapping by --doc-stride.",
                "Without --context, reads one context per line from stdin for --question, or JSON lines {\"question\": ..., \"context\": ...} with --jsonl.",
                "",
                "Example:",
                "  ./xlmr qa --model testdata/xlmr-qa --question \"Where is the file?\" --context \"The file is in the home directory.\""})
final class QaCommand extends TaskCommand {
    @Option(names = "--question", paramLabel = "Q", description = "The question.")
    String question;

    @Option(names = "--context", paramLabel = "C", description = "The context to find the answer in.")
    String context;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "1", description = "Answers (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--doc-stride", paramLabel = "N", description = "Overlap of context windows in tokens (default: min(max-seq-len / 2, 128)).")
    Integer docStride;

    @Option(names = "--max-seq-len", paramLabel = "N", description = "Tokens per window (default: min(model maximum, 384)).")
    Integer maxSeqLen;

    @Option(names = "--max-question-len", paramLabel = "N", defaultValue = "64", description = "Question tokens kept (default: ${DEFAULT-VALUE}).")
    int maxQuestionLen;

    @Option(names = "--max-answer-len", paramLabel = "N", defaultValue = "15", description = "Longest answer in tokens (default: ${DEFAULT-VALUE}).")
    int maxAnswerLen;

    @Option(names = "--handle-impossible-answer", description = "Allow the empty answer.")
    boolean handleImpossible;

    @Option(names = "--align-to-words", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Widen answers to whole words (default: on).")
    boolean alignToWords;

    QuestionAnsweringPipeline.Options options;

    @Override
    void validate() {
        checkTopK(topK);
        // -1 is the pipeline's "default"; given on the command line it is a mistake like any negative
        if (docStride != null && docStride < 0) {
            throw usage("--doc-stride must be >= 0 (got " + docStride + ")");
        }
        if (maxSeqLen != null && maxSeqLen < 1) {
            throw usage("--max-seq-len must be at least 1 (got " + maxSeqLen + ")");
        }
        try {
            options = new QuestionAnsweringPipeline.Options(topK, docStride == null ? -1 : docStride,
                    maxSeqLen == null ? -1 : maxSeqLen, maxQuestionLen, maxAnswerLen,
                    handleImpossible, alignToWords);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        if (question == null && !jsonl) {
            throw usage("give --question (with --context, or contexts on stdin), or JSON lines with --jsonl");
        }
        if (context != null && question == null) {
            throw usage("--context needs --question");
        }
    }

    @Override
    List<JsonNode> commandLineInputs() {
        if (context == null) {
            return List.of();
        }
        return List.of(input(question, context));
    }

    private static ObjectNode input(String q, String c) {
        ObjectNode n = JsonLines.JSON.createObjectNode();
        n.put("question", q);
        n.put("context", c);
        return n;
    }

    @Override
    List<Item> plainInputs(List<StdinLines.Line> lines) {
        List<Item> items = new ArrayList<>();
        for (StdinLines.Line l : lines) {
            items.add(new Item(l.number(), input(question, l.text()), null));
        }
        return items;
    }

    @Override
    Pipeline open(String m, String rev) {
        return QuestionAnsweringPipeline.load(m, rev);
    }

    @Override
    List<Object> run(Pipeline p, List<JsonNode> inputs) {
        List<String> qs = new ArrayList<>();
        List<String> cs = new ArrayList<>();
        for (JsonNode in : inputs) {
            qs.add(question != null && !in.has("question") ? question : field(in, "question"));
            cs.add(field(in, "context"));
        }
        var res = ((QuestionAnsweringPipeline) p).answerAll(qs, cs, options);
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < res.size(); i++) {
            String c = cs.get(i);
            List<Map<String, Object>> answers = res.get(i).stream().map(a -> a.toMap(c)).toList();
            out.add(answers.size() == 1 ? answers.get(0) : answers);
        }
        return out;
    }

    @Override
    @SuppressWarnings("unchecked")
    String table(JsonNode input, Object result) {
        List<Map<String, Object>> answers = result instanceof Map ? List.of((Map<String, Object>) result)
                : (List<Map<String, Object>>) result;
        StringBuilder sb = new StringBuilder(cell(input.path("question").asText(question))).append('\n');
        for (Map<String, Object> a : answers) {
            sb.append(String.format("  %s  %s..%s  %s%n", score(a.get("score")), a.get("start"), a.get("end"),
                    cell(a.get("answer"))));
        }
        return sb.toString().stripTrailing();
    }
}
