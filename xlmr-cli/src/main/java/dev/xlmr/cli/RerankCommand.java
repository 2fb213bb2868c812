package dev.xlmr.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.xlmr.pipelines.Pipeline;
import dev.xlmr.pipelines.RerankPipeline;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./xlmr rerank}: cross-encoder relevance. */
@Command(name = "rerank", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Rank texts by relevance to a query with a cross-encoder (sequence classification of (query, text) pairs;",
                "sigmoid of the logit for one label), as sentence-transformers' CrossEncoder.rank.",
                "Prints a JSON array of {corpus_id, score, text}, best first.",
                "Without TEXT, the lines of stdin are the texts of one ranking; with --jsonl, each line {\"query\": ..., \"texts\": [...]} is a ranking.",
                "",
                "Example:",
                "  ./xlmr rerank --model BAAI/bge-reranker-v2-m3 --query \"where is the file?\" \"It is in /home.\" \"Bonjour.\""})
final class RerankCommand extends TaskCommand {
    @Option(names = "--query", paramLabel = "Q", description = "The query.")
    String query;

    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "Texts to rank.")
    List<String> texts;

    @Option(names = "--top-k", paramLabel = "K", description = "Keep the K best (default: all).")
    Integer topK;

    @Override
    void validate() {
        checkTopK(topK);
        if (query == null && !jsonl) {
            throw usage("give the --query (or JSON lines with --jsonl)");
        }
    }

    @Override
    List<JsonNode> commandLineInputs() {
        if (texts == null || texts.isEmpty()) {
            return List.of();
        }
        return List.of(input(texts));
    }

    private ObjectNode input(List<String> ts) {
        ObjectNode n = JsonLines.JSON.createObjectNode();
        n.put("query", query);
        ts.forEach(n.putArray("texts")::add);
        return n;
    }

    @Override
    boolean wholeStdin() {
        return true; // the lines are the texts of one ranking (JSON lines, one ranking each, stream)
    }

    @Override
    List<Item> plainInputs(List<StdinLines.Line> lines) {
        return List.of(new Item(1, input(lines.stream().map(StdinLines.Line::text).toList()), null));
    }

    @Override
    Pipeline open(String m, String rev) {
        return RerankPipeline.load(m, rev);
    }

    @Override
    List<Object> run(Pipeline p, List<JsonNode> inputs) {
        List<Object> out = new ArrayList<>();
        for (JsonNode in : inputs) {
            String q = query != null && !in.has("query") ? query : field(in, "query");
            var ranked = ((RerankPipeline) p).rerank(q, strings(in, "texts", null), topK == null ? Integer.MAX_VALUE : topK);
            out.add(ranked.stream().map(RerankPipeline.Ranked::toMap).toList());
        }
        return out;
    }

    @Override
    @SuppressWarnings("unchecked")
    String table(JsonNode input, Object result) {
        StringBuilder sb = new StringBuilder(cell(input.path("query").asText(""))).append('\n');
        for (Map<String, Object> r : (List<Map<String, Object>>) result) {
            sb.append(String.format("  %s  #%s  %s%n", score(r.get("score")), r.get("corpus_id"), cell(r.get("text"))));
        }
        return sb.toString().stripTrailing();
    }
}
