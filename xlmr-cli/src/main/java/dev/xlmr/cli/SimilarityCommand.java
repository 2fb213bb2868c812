package dev.xlmr.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import dev.xlmr.pipelines.Pipeline;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./xlmr similarity}: cosine similarity of sentence embeddings. */
@Command(name = "similarity", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Cosine similarity of the sentence embeddings of two texts (as ./xlmr embed computes them).",
                "Prints {\"similarity\": x}.",
                "Without TEXT1 TEXT2, reads pairs from stdin: one \"text1<TAB>text2\" per line, or JSON lines {\"text\": ..., \"text_pair\": ...} with --jsonl.",
                "",
                "Example:",
                "  ./xlmr similarity --model testdata/xlmr-base \"Hello world!\" \"Bonjour le monde !\""})
final class SimilarityCommand extends TaskCommand {
    @Parameters(paramLabel = "TEXT", arity = "0..2", description = "The two texts.")
    List<String> texts;

    @Option(names = "--pooling", paramLabel = "P", defaultValue = "auto",
            description = "auto, mean, cls, max, mean_sqrt_len, weighted_mean, last_token or pooler.")
    String pooling;

    @Option(names = "--prompt-name", paramLabel = "NAME", description = "A prompt of config_sentence_transformers.json for both texts.")
    String promptName;

    @Option(names = "--prefix", paramLabel = "TEXT", description = "A literal prefix for both texts.")
    String prefix;

    Pooling parsed;

    @Override
    void validate() {
        try {
            parsed = Pooling.parse(pooling);
        } catch (IllegalArgumentException e) {
            throw usage("--pooling: " + e.getMessage());
        }
        if (parsed == Pooling.NONE) {
            throw usage("--pooling none gives no sentence embedding");
        }
        if (texts != null && texts.size() == 1) {
            throw usage("give two texts");
        }
        if (promptName != null && prefix != null) {
            throw usage("give --prompt-name or --prefix, not both");
        }
    }

    @Override
    List<JsonNode> commandLineInputs() {
        if (texts == null || texts.isEmpty()) {
            return List.of();
        }
        return List.of(pair(texts.get(0), texts.get(1)));
    }

    private static ObjectNode pair(String a, String b) {
        ObjectNode n = text(a);
        n.put("text_pair", b);
        return n;
    }

    @Override
    List<Item> plainInputs(List<StdinLines.Line> lines) {
        List<Item> items = new ArrayList<>();
        for (StdinLines.Line l : lines) {
            String[] parts = l.text().split("\t", -1);
            items.add(parts.length == 2 ? new Item(l.number(), pair(parts[0], parts[1]), null)
                    : new Item(l.number(), null, "expected two texts separated by a tab"));
        }
        return items;
    }

    @Override
    Pipeline open(String m, String rev) {
        return EmbeddingPipeline.load(m, rev);
    }

    @Override
    List<Object> run(Pipeline p, List<JsonNode> inputs) {
        List<String> all = new ArrayList<>();
        for (JsonNode in : inputs) {
            all.add(field(in, "text"));
            all.add(field(in, "text_pair"));
        }
        List<float[]> v = ((EmbeddingPipeline) p).embedAll(all,
                new EmbeddingPipeline.Options(parsed, false, promptName, prefix));
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            out.add(Map.of("similarity", EmbeddingPipeline.cosine(v.get(2 * i), v.get(2 * i + 1))));
        }
        return out;
    }

    @Override
    @SuppressWarnings("unchecked")
    String table(JsonNode input, Object result) {
        return score(((Map<String, Object>) result).get("similarity")) + "\t" + cell(field(input, "text")) + "\t"
                + cell(field(input, "text_pair"));
    }
}
