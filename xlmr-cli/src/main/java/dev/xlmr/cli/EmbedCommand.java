package dev.xlmr.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import dev.xlmr.pipelines.Pipeline;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./xlmr embed}: sentence or token embeddings. */
@Command(name = "embed", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Embed texts: sentence embeddings (following a sentence-transformers folder when the model has one) or token embeddings.",
                "Prints one JSON line {\"embedding\": [...]} per input ({\"token_embeddings\": [[...]]} with --pooling none).",
                "Without TEXT, reads one text per line from stdin (or JSON lines {\"text\": ...} with --jsonl).",
                "",
                "Example:",
                "  printf 'Hello world!\\nBonjour le monde !\\n' | ./xlmr embed --model testdata/xlmr-base",
                "  ./xlmr embed --model intfloat/multilingual-e5-base --prompt-name query \"how to reset a password\""})
final class EmbedCommand extends TaskCommand {
    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "Texts to embed.")
    List<String> texts;

    @Option(names = "--pooling", paramLabel = "P", defaultValue = "auto",
            description = "auto (the sentence-transformers configuration, else mean), mean, cls, max, mean_sqrt_len, weighted_mean, last_token, pooler or none (token embeddings).")
    String pooling;

    @Option(names = "--normalize", description = "L2-normalise the embeddings.")
    boolean normalize;

    @Option(names = "--prompt-name", paramLabel = "NAME", description = "A prompt of config_sentence_transformers.json, e.g. query or passage.")
    String promptName;

    @Option(names = "--prefix", paramLabel = "TEXT", description = "A literal prefix for every input, e.g. \"query: \".")
    String prefix;

    Pooling parsedPooling;

    @Override
    void validate() {
        try {
            parsedPooling = Pooling.parse(pooling);
        } catch (IllegalArgumentException e) {
            throw usage("--pooling: " + e.getMessage());
        }
        if (promptName != null && prefix != null) {
            throw usage("give --prompt-name or --prefix, not both");
        }
    }

    @Override
    List<JsonNode> commandLineInputs() {
        return texts(texts);
    }

    @Override
    Pipeline open(String m, String rev) {
        return EmbeddingPipeline.load(m, rev);
    }

    EmbeddingPipeline.Options options() {
        return new EmbeddingPipeline.Options(parsedPooling, normalize, promptName, prefix);
    }

    @Override
    List<Object> run(Pipeline p, List<JsonNode> inputs) {
        EmbeddingPipeline e = (EmbeddingPipeline) p;
        List<String> ts = new ArrayList<>();
        for (JsonNode in : inputs) {
            ts.add(field(in, "text"));
        }
        List<Object> out = new ArrayList<>();
        if (parsedPooling == Pooling.NONE) {
            for (float[][] t : e.tokenEmbeddings(ts, options())) {
                out.add(Map.of("token_embeddings", t));
            }
        } else {
            for (float[] v : e.embedAll(ts, options())) {
                out.add(Map.of("embedding", v));
            }
        }
        return out;
    }

    @Override
    @SuppressWarnings("unchecked")
    String table(JsonNode input, Object result) {
        Map<String, Object> m = (Map<String, Object>) result;
        Object v = m.containsKey("embedding") ? m.get("embedding") : m.get("token_embeddings");
        String shape = v instanceof float[] f ? "[" + f.length + "]"
                : "[" + ((float[][]) v).length + " x " + (((float[][]) v).length == 0 ? 0 : ((float[][]) v)[0].length) + "]";
        float[] first = v instanceof float[] f ? f : ((float[][]) v)[0];
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(6, first.length); i++) {
            sb.append(String.format(java.util.Locale.ROOT, "%.4f ", first[i]));
        }
        return cell(field(input, "text")) + "\t" + shape + "\t" + sb + (first.length > 6 ? "..." : "");
    }
}
