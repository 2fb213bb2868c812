package dev.xlmr.pipelines;

import dev.xlmr.model.Ops;
import dev.xlmr.model.Tensor;
import dev.xlmr.model.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;

/**
 * BGE-M3's extra heads, as FlagEmbedding's M3Embedder runs them on the last hidden state:
 * {@code sparse_linear.pt} (Linear(H, 1): one lexical weight per token) and {@code colbert_linear.pt}
 * (Linear(H, D): one multi-vector per token after {@code <s>}). Both are torch.save'd state dicts
 * ({@code weight}, {@code bias}) read through the restricted unpickler; either may be absent.
 *
 * <pre>{@code
 * M3Heads heads = M3Heads.read(Path.of("BAAI/bge-m3 folder"));   // null without either file
 * SparseEmbedding lexical = heads.lexicalWeights(hidden, ids, Set.of(0, 1, 2, 3));
 * float[][] colbert = heads.colbertVectors(hidden);
 * }</pre>
 *
 * @param sparseWeight  {@code [1][H]}, or null without sparse_linear.pt
 * @param sparseBias    {@code [1]}, or null
 * @param colbertWeight {@code [D][H]}, or null without colbert_linear.pt
 * @param colbertBias   {@code [D]}, or null
 */
public record M3Heads(Tensor sparseWeight, Tensor sparseBias, Tensor colbertWeight, Tensor colbertBias) {
    /** The file of the sparse head. */
    public static final String SPARSE_FILE = "sparse_linear.pt";
    /** The file of the ColBERT head. */
    public static final String COLBERT_FILE = "colbert_linear.pt";

    /** The heads of a model folder, or null when it has neither file. */
    public static M3Heads read(Path dir) {
        if (dir == null) {
            return null;
        }
        Path sparse = dir.resolve(SPARSE_FILE);
        Path colbert = dir.resolve(COLBERT_FILE);
        boolean hasSparse = Files.isRegularFile(sparse);
        boolean hasColbert = Files.isRegularFile(colbert);
        if (!hasSparse && !hasColbert) {
            return null;
        }
        Tensor[] s = hasSparse ? linear(sparse) : new Tensor[2];
        Tensor[] c = hasColbert ? linear(colbert) : new Tensor[2];
        if (s[0] != null && s[0].dim(0) != 1) {
            throw new IllegalArgumentException(sparse + ": weight of shape " + Arrays.toString(s[0].shape())
                    + " is not a Linear(H, 1)");
        }
        if (s[0] != null && c[0] != null && s[0].dim(1) != c[0].dim(1)) {
            throw new IllegalArgumentException(dir + ": the sparse and ColBERT heads take different hidden sizes");
        }
        return new M3Heads(s[0], s[1], c[0], c[1]);
    }

    /** weight and bias of a torch.save'd Linear state dict. */
    private static Tensor[] linear(Path file) {
        try (Weights w = Weights.open(file)) {
            Tensor weight = DenseModule.copy(w.get("weight"));
            Tensor bias = w.contains("bias") ? DenseModule.copy(w.get("bias")) : null;
            if (weight.rank() != 2 || bias != null && (bias.rank() != 1 || bias.dim(0) != weight.dim(0))) {
                throw new IllegalArgumentException(file + ": not a Linear state dict (weight "
                        + Arrays.toString(weight.shape()) + ")");
            }
            return new Tensor[] {weight, bias};
        }
    }

    /** Whether sparse_linear.pt was found. */
    public boolean hasSparse() {
        return sparseWeight != null;
    }

    /** Whether colbert_linear.pt was found. */
    public boolean hasColbert() {
        return colbertWeight != null;
    }

    /** The hidden size the heads take. */
    public int hiddenSize() {
        return (sparseWeight != null ? sparseWeight : colbertWeight).dim(1);
    }

    /** {@code relu(sparse_linear(h))} at every position (M3Embedder's token weights). */
    public float[] tokenWeights(float[][] hidden) {
        requireSparse();
        float[] w = Ops.linear(flatten(hidden, 0), hidden.length, sparseWeight, sparseBias);
        for (int i = 0; i < w.length; i++) {
            w[i] = Math.max(0f, w[i]);
        }
        return w;
    }

    /**
     * M3Embedder's lexical weights: per token id, the largest positive token weight, ids in {@code unused}
     * (FlagEmbedding: cls, eos, pad and unk) dropped, ids in the order of their first positive position.
     */
    public SparseEmbedding lexicalWeights(float[][] hidden, int[] ids, Set<Integer> unused) {
        float[] w = tokenWeights(hidden);
        int[] keys = new int[ids.length];
        float[] vals = new float[ids.length];
        int n = 0;
        java.util.Map<Integer, Integer> slot = new java.util.HashMap<>();
        for (int t = 0; t < ids.length; t++) {
            if (w[t] <= 0 || unused.contains(ids[t])) {
                continue;
            }
            Integer at = slot.get(ids[t]);
            if (at == null) {
                slot.put(ids[t], n);
                keys[n] = ids[t];
                vals[n++] = w[t];
            } else if (w[t] > vals[at]) {
                vals[at] = w[t];
            }
        }
        return SparseEmbedding.of(Arrays.copyOf(keys, n), Arrays.copyOf(vals, n));
    }

    /**
     * M3Embedder's ColBERT vectors: colbert_linear on the tokens after {@code <s>} (the final {@code </s>}
     * included), each L2-normalised: {@code hidden.length - 1} vectors. The plain reference
     * ({@link Ops#linear}); {@link #colbertVectors(float[][], Fast)} is the same on an engine's kernels.
     */
    public float[][] colbertVectors(float[][] hidden) {
        return colbertVectors(hidden, null);
    }

    /** The ColBERT weights packed for an engine's kernels (H x D fp32), for {@link #colbertVectors(float[][], Fast)}. */
    public record Fast(dev.xlmr.engine.Kernels kernels, dev.xlmr.engine.Weights weight, float[] bias) {}

    /** Packs the ColBERT head for kernels (once per pipeline: the head is a D x H matmul per token). */
    public Fast pack(dev.xlmr.engine.Kernels kernels) {
        if (colbertWeight == null) {
            return null;
        }
        int d = colbertWeight.dim(0);
        int h = colbertWeight.dim(1);
        return new Fast(kernels, kernels.pack(colbertWeight.toFloatArray(), d, h, dev.xlmr.engine.Precision.FP32),
                colbertBias == null ? null : colbertBias.toFloatArray());
    }

    /** The ColBERT vectors with the linear map on packed kernels (null: the plain reference). */
    public float[][] colbertVectors(float[][] hidden, Fast fast) {
        if (colbertWeight == null) {
            throw new IllegalArgumentException("this model has no ColBERT head (" + COLBERT_FILE + ")");
        }
        int rows = hidden.length - 1;
        int d = colbertWeight.dim(0);
        float[][] out = new float[Math.max(0, rows)][];
        if (rows <= 0) {
            return out;
        }
        float[] x = flatten(hidden, 1);
        float[] y;
        if (fast == null) {
            y = Ops.linear(x, rows, colbertWeight, colbertBias);
        } else {
            y = new float[rows * d];
            fast.kernels().linear(x, rows, colbertWeight.dim(1), fast.weight(), fast.bias(), y, d);
        }
        for (int r = 0; r < rows; r++) {
            out[r] = Arrays.copyOfRange(y, r * d, (r + 1) * d);
            EmbeddingPipeline.normalize(out[r]);
        }
        return out;
    }

    private void requireSparse() {
        if (sparseWeight == null) {
            throw new IllegalArgumentException("this model has no sparse head (" + SPARSE_FILE + ")");
        }
    }

    private static float[] flatten(float[][] rows, int from) {
        int h = rows.length == 0 ? 0 : rows[0].length;
        float[] x = new float[(rows.length - from) * h];
        for (int r = from; r < rows.length; r++) {
            System.arraycopy(rows[r], 0, x, (r - from) * h, h);
        }
        return x;
    }
}
