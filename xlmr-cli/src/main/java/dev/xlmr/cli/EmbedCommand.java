package dev.xlmr.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.pipelines.EmbeddingPipeline.Output;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import dev.xlmr.pipelines.MultiEmbedding;
import dev.xlmr.pipelines.Pipeline;
import dev.xlmr.pipelines.Quantization;
import dev.xlmr.pipelines.Quantization.Precision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./xlmr embed}: sentence, sparse, ColBERT, quantized or token embeddings. */
@Command(name = "embed", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Embed texts: sentence embeddings (following a sentence-transformers folder when the model has one: Pooling, Dense, Normalize) or token embeddings;",
                "BGE-M3 lexical weights and ColBERT vectors (sparse_linear.pt, colbert_linear.pt) and SPLADE vectors (SpladePooling).",
                "Prints one JSON line per input: {\"embedding\": [...]}, {\"sparse\": {\"<token id>\": w, ...}}, {\"colbert\": [[...], ...]}",
                "(all three keys with --output all; {\"token_embeddings\": [[...]]} with --pooling none). Quantized embeddings are integer arrays.",
                "Without TEXT, reads one text per line from stdin (or JSON lines {\"text\": ...} with --jsonl).",
                "Texts longer than the window are truncated, or embedded through overlapping windows with --long-inputs windows.",
                "--late-chunking embeds the chunks of a document in its context: the TEXTs are the chunks of one document, or",
                "stdin gives JSON lines {\"chunks\": [...]} (--jsonl); prints {\"embeddings\": [[...], ...]}, one vector per chunk.",
                "",
                "Example:",
                "  printf 'Hello world!\\nBonjour le monde !\\n' | ./xlmr embed --model testdata/xlmr-base",
                "  ./xlmr embed --model intfloat/multilingual-e5-base --prompt-name query \"how to reset a password\"",
                "  ./xlmr embed --model BAAI/bge-m3 --output all \"What is BGE M3?\"",
                "  ./xlmr embed --model Snowflake/snowflake-arctic-embed-l-v2.0 --dimensions 256 --quantize ubinary \"hello\"",
                "  ./xlmr embed --model BAAI/bge-m3 --long-inputs windows --overlap 64 < books.txt",
                "  ./xlmr embed --model jinaai/jina-embeddings-v3 --late-chunking \"Berlin is a city.\" \"It has 3.8 million people.\""})
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

    @Option(names = "--output", paramLabel = "O",
            description = "dense (the sentence embedding), sparse (BGE-M3 lexical weights or SPLADE), colbert (BGE-M3) or all (the three);"
                    + " default: dense, sparse for a SPLADE model.")
    String output;

    @Option(names = "--dimensions", paramLabel = "N",
            description = "Keep the first N values of the embedding (Matryoshka); normalised again only with --normalize.")
    Integer dimensions;

    @Option(names = "--max-active-dims", paramLabel = "K", description = "Keep the K largest weights of sparse outputs.")
    Integer maxActiveDims;

    @Option(names = "--quantize", paramLabel = "P",
            description = "int8, uint8, binary or ubinary (sentence-transformers' quantize_embeddings): integer arrays;"
                    + " binary ones pack 8 dimensions per byte.")
    String quantize;

    @Option(names = "--calibration", paramLabel = "FILE",
            description = "int8/uint8 ranges: the per-dimension min and max of the embeddings in FILE (JSON lines, one array each);"
                    + " default: of each batch.")
    Path calibration;

    @Option(names = "--long-inputs", paramLabel = "MODE", defaultValue = "truncate",
            description = "truncate (default: cut at the window, with a warning) or windows (overlapping windows pooled into one"
                    + " vector: token-weighted mean; sparse: max per id; ColBERT: one vector per token).")
    String longInputs;

    @Option(names = "--overlap", paramLabel = "N",
            description = "Tokens shared by neighbouring windows (--long-inputs windows, --late-chunking); default: a quarter of the window.")
    Integer overlap;

    @Option(names = "--max-length", paramLabel = "N",
            description = "Tokens per input (the window of --long-inputs windows); default and most: what the model takes.")
    Integer maxLength;

    @Option(names = "--late-chunking",
            description = "One vector per chunk of a document, each from the token vectors of the whole document (windowed when long).")
    boolean lateChunking;

    Pooling parsedPooling;
    EmbeddingPipeline.LongInputs parsedLong;
    Set<Output> outputs;
    Precision precision;
    float[][] ranges;

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
        try {
            parsedLong = EmbeddingPipeline.LongInputs.parse(longInputs);
        } catch (IllegalArgumentException e) {
            throw usage("--long-inputs: unknown mode '" + longInputs + "' (truncate, windows)");
        }
        if (overlap != null && overlap < 0) {
            throw usage("--overlap must not be negative (got " + overlap + ")");
        }
        if (lateChunking && (output != null && !output.trim().equalsIgnoreCase("dense") || quantize != null
                || parsedPooling == Pooling.NONE)) {
            throw usage("--late-chunking gives dense vectors: no --output, --quantize or --pooling none with it");
        }
        if (output != null) {
            try {
                outputs = output.trim().equalsIgnoreCase("all") ? EnumSet.allOf(Output.class) : EnumSet.of(Output.parse(output));
            } catch (IllegalArgumentException e) {
                throw usage("--output: unknown output '" + output + "' (dense, sparse, colbert, all)");
            }
        }
        if (dimensions != null && dimensions < 1) {
            throw usage("--dimensions must be at least 1 (got " + dimensions + ")");
        }
        if (maxActiveDims != null && maxActiveDims < 1) {
            throw usage("--max-active-dims must be at least 1 (got " + maxActiveDims + ")");
        }
        if (quantize != null) {
            try {
                precision = Precision.parse(quantize);
            } catch (IllegalArgumentException e) {
                throw usage("--quantize: unknown precision '" + quantize + "' (int8, uint8, binary, ubinary)");
            }
            if (precision == Precision.FLOAT32) {
                precision = null;
            }
        }
        if (calibration != null) {
            if (precision != Precision.INT8 && precision != Precision.UINT8) {
                throw usage("--calibration needs --quantize int8 or uint8");
            }
            ranges = Quantization.ranges(readCalibration(calibration));
        }
        if (parsedPooling == Pooling.NONE && (outputs != null && !outputs.equals(EnumSet.of(Output.DENSE))
                || precision != null || dimensions != null)) {
            throw usage("--pooling none gives token embeddings: no --output, --dimensions or --quantize with it");
        }
        if (precision != null && outputs != null && !outputs.contains(Output.DENSE)) {
            throw usage("--quantize applies to the dense output");
        }
    }

    /** Calibration embeddings: JSON lines, one array of numbers each (blank lines skipped). */
    private List<float[]> readCalibration(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw usage("--calibration: cannot read " + file + ": " + e.getMessage());
        }
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            String where = "--calibration: " + file + " line " + (i + 1);
            JsonNode n;
            try {
                n = JsonLines.JSON.readTree(lines.get(i));
            } catch (IOException e) {
                throw usage(where + ": not valid JSON");
            }
            if (n == null || !n.isArray() || n.isEmpty()) {
                throw usage(where + ": expected an array of numbers");
            }
            float[] v = new float[n.size()];
            for (int j = 0; j < v.length; j++) {
                if (!n.get(j).isNumber()) {
                    throw usage(where + ": expected an array of numbers");
                }
                v[j] = (float) n.get(j).asDouble();
            }
            if (!out.isEmpty() && out.get(0).length != v.length) {
                throw usage(where + ": " + v.length + " values, the first line has " + out.get(0).length);
            }
            out.add(v);
        }
        if (out.isEmpty()) {
            throw usage("--calibration: " + file + " has no embeddings");
        }
        return out;
    }

    @Override
    List<JsonNode> commandLineInputs() {
        if (lateChunking && texts != null && !texts.isEmpty()) {
            // the TEXTs are the chunks of one document
            com.fasterxml.jackson.databind.node.ObjectNode doc = JsonLines.JSON.createObjectNode();
            texts.forEach(doc.putArray("chunks")::add);
            return List.of(doc);
        }
        return texts(texts);
    }

    @Override
    Pipeline open(String m, String rev) {
        EmbeddingPipeline e = EmbeddingPipeline.load(m, rev);
        if (maxLength != null) {
            try {
                e.maxLength(maxLength);
            } catch (IllegalArgumentException bad) {
                e.close();
                throw usage("--max-length: " + bad.getMessage());
            }
        }
        return e;
    }

    EmbeddingPipeline.Options options() {
        return new EmbeddingPipeline.Options(parsedPooling, normalize, promptName, prefix,
                dimensions == null ? 0 : dimensions, maxActiveDims == null ? 0 : maxActiveDims, parsedLong,
                overlap == null ? -1 : overlap);
    }

    @Override
    List<Object> run(Pipeline p, List<JsonNode> inputs) {
        EmbeddingPipeline e = (EmbeddingPipeline) p;
        if (lateChunking) {
            List<List<String>> docs = new ArrayList<>();
            for (JsonNode in : inputs) {
                if (!in.has("chunks")) {
                    throw new IllegalArgumentException("--late-chunking reads JSON lines {\"chunks\": [...]} (--jsonl)");
                }
                docs.add(strings(in, "chunks", null));
            }
            List<Object> out = new ArrayList<>();
            for (List<float[]> chunks : e.lateChunkingAll(docs, options())) {
                out.add(Map.of("embeddings", chunks.toArray(new float[0][])));
            }
            return out;
        }
        List<String> ts = new ArrayList<>();
        for (JsonNode in : inputs) {
            ts.add(field(in, "text"));
        }
        List<Object> out = new ArrayList<>();
        if (parsedPooling == Pooling.NONE) {
            for (float[][] t : e.tokenEmbeddings(ts, options())) {
                out.add(Map.of("token_embeddings", t));
            }
            return out;
        }
        Set<Output> asked = outputs != null ? outputs
                : EnumSet.of(e.supports(Output.DENSE) ? Output.DENSE : Output.SPARSE);
        if (precision != null && !e.supports(Output.DENSE)) {
            throw new IllegalArgumentException("--quantize applies to the dense output, which this model does not give");
        }
        List<MultiEmbedding> got = e.encode(ts, options(), asked);
        int[][] quantized = null;
        if (precision != null) {
            // int8/uint8 ranges: from --calibration, else from this batch (what stdin has given so far)
            quantized = Quantization.quantize(got.stream().map(MultiEmbedding::dense).toList(), precision, ranges);
        }
        for (int i = 0; i < got.size(); i++) {
            Map<String, Object> m = new LinkedHashMap<>(got.get(i).toMap());
            if (quantized != null) {
                m.put("embedding", quantized[i]);
            }
            out.add(m);
        }
        return out;
    }

    @Override
    @SuppressWarnings("unchecked")
    String table(JsonNode input, Object result) {
        Map<String, Object> m = (Map<String, Object>) result;
        StringBuilder sb = new StringBuilder(cell(input.has("chunks") && !input.has("text")
                ? String.join(" ", strings(input, "chunks", null)) : field(input, "text")));
        if (m.size() == 1 && !(m.values().iterator().next() instanceof Map)) {
            return sb + "\t" + summary(m.values().iterator().next()).replaceFirst(" ", "\t"); // text, shape, values
        }
        for (Map.Entry<String, Object> e : m.entrySet()) {
            sb.append('\t').append(e.getKey()).append(' ').append(summary(e.getValue()));
        }
        return sb.toString();
    }

    /** A shape and the first values, for tables. */
    @SuppressWarnings("unchecked")
    private static String summary(Object v) {
        if (v instanceof Map<?, ?> sparse) {
            StringBuilder sb = new StringBuilder("{" + sparse.size() + " ids} ");
            int n = 0;
            for (Map.Entry<?, ?> e : sparse.entrySet()) {
                if (n++ == 4) {
                    return sb + "...";
                }
                sb.append(e.getKey()).append(':').append(String.format(java.util.Locale.ROOT, "%.4f ", (Float) e.getValue()));
            }
            return sb.toString().strip();
        }
        if (v instanceof int[] q) {
            StringBuilder sb = new StringBuilder("[" + q.length + "] ");
            for (int i = 0; i < Math.min(8, q.length); i++) {
                sb.append(q[i]).append(' ');
            }
            return sb + (q.length > 8 ? "..." : "");
        }
        float[][] rows = v instanceof float[] f ? new float[][] {f} : (float[][]) v;
        String shape = v instanceof float[] f ? "[" + f.length + "]"
                : "[" + rows.length + " x " + (rows.length == 0 ? 0 : rows[0].length) + "]";
        float[] first = rows.length == 0 ? new float[0] : rows[0];
        StringBuilder sb = new StringBuilder(shape).append(' ');
        for (int i = 0; i < Math.min(6, first.length); i++) {
            sb.append(String.format(java.util.Locale.ROOT, "%.4f ", first[i]));
        }
        return sb + (first.length > 6 ? "..." : "");
    }
}
