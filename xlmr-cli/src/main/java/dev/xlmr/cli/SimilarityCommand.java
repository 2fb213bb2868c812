package dev.xlmr.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.pipelines.EmbeddingPipeline.Output;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import dev.xlmr.pipelines.Pipeline;
import dev.xlmr.pipelines.Scores;
import dev.xlmr.pipelines.SparseEmbedding;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./xlmr similarity}: cosine similarity of sentence embeddings; BGE-M3 and SPLADE scores. */
@Command(name = "similarity", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Cosine similarity of the sentence embeddings of two texts (as ./xlmr embed computes them).",
                "Prints {\"similarity\": x}. For a BGE-M3 model (sparse_linear.pt and colbert_linear.pt), also FlagEmbedding's compute_score",
                "of (TEXT1 as query, TEXT2 as passage): {\"similarity\", \"colbert\", \"sparse\", \"dense\", \"sparse+dense\", \"colbert+sparse+dense\"};",
                "for a SPLADE model, the dot product of the sparse vectors.",
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

    @Option(names = "--weights", paramLabel = "D,S,C", split = ",",
            description = "BGE-M3 weights of the dense, sparse and ColBERT scores in the weighted sums (default: 1,1,1).")
    double[] weights;

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
        if (weights != null && weights.length != 3) {
            throw usage("--weights: give three numbers (dense, sparse, colbert), got " + weights.length);
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
        EmbeddingPipeline e = (EmbeddingPipeline) p;
        EmbeddingPipeline.Options options = new EmbeddingPipeline.Options(parsed, false, promptName, prefix);
        List<String> all = new ArrayList<>();
        List<String> queries = new ArrayList<>();
        List<String> passages = new ArrayList<>();
        for (JsonNode in : inputs) {
            all.add(field(in, "text"));
            all.add(field(in, "text_pair"));
            queries.add(all.get(all.size() - 2));
            passages.add(all.get(all.size() - 1));
        }
        List<Object> out = new ArrayList<>();
        if (parsed == Pooling.AUTO && e.outputs().containsAll(List.of(Output.values()))) {
            // BGE-M3: compute_score; "similarity" stays the cosine of the dense vectors (normalised: their dot)
            for (Scores.M3 s : e.m3Scores(queries, passages, weights != null ? weights : Scores.M3_WEIGHTS, options)) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("similarity", s.dense());
                m.putAll(s.toMap());
                out.add(m);
            }
            return out;
        }
        if (weights != null) {
            throw new IllegalArgumentException("--weights needs a BGE-M3 model (sparse_linear.pt and colbert_linear.pt)");
        }
        if (parsed == Pooling.AUTO && !e.supports(Output.DENSE)) {
            // SPLADE: SparseEncoder's similarity, the dot product
            List<SparseEmbedding> v = e.sparseEmbeddings(all, options);
            for (int i = 0; i < inputs.size(); i++) {
                out.add(Map.of("similarity", v.get(2 * i).dot(v.get(2 * i + 1))));
            }
            return out;
        }
        List<float[]> v = e.embedAll(all, options);
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
