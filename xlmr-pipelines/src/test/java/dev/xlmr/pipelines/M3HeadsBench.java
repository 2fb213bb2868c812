package dev.xlmr.pipelines;

import dev.xlmr.pipelines.EmbeddingPipeline.Options;
import dev.xlmr.pipelines.EmbeddingPipeline.Output;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What BGE-M3's extra heads cost: {@link EmbeddingPipeline#encode} with the dense output alone and with dense +
 * sparse + ColBERT on the same texts, interleaved (A B B A per round, so load drifts hit both alike), median of
 * the rounds; and the sparse outputs' memory (ids + weights, 8 bytes a non-zero) against a dense vocabulary row.
 * Not a test: run by hand (BENCHMARKS.md gives the command).
 *
 * <pre>{@code
 * java -cp ... dev.xlmr.pipelines.M3HeadsBench /tmp/xlmr-m3-bench testdata/tokenizer/tok_public.txt 64 5
 * }</pre>
 */
public final class M3HeadsBench {
    private M3HeadsBench() {}

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        List<String> lines = Files.readAllLines(Path.of(args[1]));
        int n = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        List<String> texts = new ArrayList<>(lines.subList(42, 42 + n));
        Set<Output> dense = EnumSet.of(Output.DENSE);
        Set<Output> all = EnumSet.allOf(Output.class);
        try (EmbeddingPipeline p = EmbeddingPipeline.load(model.toString())) {
            p.warnings(s -> { });
            int tokens = 0;
            for (EmbeddingPipeline.Input in : p.prepare(texts, Options.defaults(), true)) {
                tokens += in.length();
            }
            System.out.printf(Locale.ROOT, "model %s, %d texts, %d tokens, %d rounds%n", model, n, tokens, rounds);
            p.encode(texts, Options.defaults(), dense);   // warm-up: JIT, packing
            p.encode(texts, Options.defaults(), all);
            double[] d = new double[rounds * 2];
            double[] a = new double[rounds * 2];
            long nnz = 0;
            int vectors = 0;
            for (int r = 0; r < rounds; r++) {
                d[2 * r] = time(p, texts, dense);
                a[2 * r] = time(p, texts, all);
                a[2 * r + 1] = time(p, texts, all);
                d[2 * r + 1] = time(p, texts, dense);
                System.out.printf(Locale.ROOT, "round %d: dense %.3f s, all %.3f s, ratio %.3f%n", r,
                        (d[2 * r] + d[2 * r + 1]) / 2, (a[2 * r] + a[2 * r + 1]) / 2,
                        (a[2 * r] + a[2 * r + 1]) / (d[2 * r] + d[2 * r + 1]));
            }
            for (MultiEmbedding m : p.encode(texts, Options.defaults(), all)) {
                nnz += m.sparse().size();
                vectors++;
            }
            double md = median(d);
            double ma = median(a);
            System.out.printf(Locale.ROOT, "median dense %.3f s, dense+sparse+colbert %.3f s: extra heads +%.1f%%%n", md, ma,
                    (ma / md - 1) * 100);
            int vocab = p.config().vocabSize();
            System.out.printf(Locale.ROOT, "sparse: %.1f non-zeros per text (%.1f tokens per text), %.0f bytes per text"
                    + " (ids + weights) vs %d bytes for a dense vocabulary row%n", (double) nnz / vectors,
                    (double) tokens / vectors, 8.0 * nnz / vectors, 4L * vocab);
        }
    }

    private static double time(EmbeddingPipeline p, List<String> texts, Set<Output> outputs) {
        long t = System.nanoTime();
        p.encode(texts, Options.defaults(), outputs);
        return (System.nanoTime() - t) / 1e9;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
