package dev.xlmr.pipelines;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A sparse vector over the vocabulary: token ids and their weights, only the non-zero entries (memory
 * proportional to them). Used for SPLADE vectors (ids ascending) and BGE-M3 lexical weights (ids in the
 * order of their first position in the text, as FlagEmbedding returns them).
 *
 * <pre>{@code
 * SparseEmbedding a = SparseEmbedding.of(new int[] {5, 9}, new float[] {0.5f, 1f});
 * SparseEmbedding b = SparseEmbedding.of(new int[] {9}, new float[] {2f});
 * a.dot(b);        // 2.0
 * a.toMap();       // {5=0.5, 9=1.0}
 * a.topK(1);       // {9=1.0}
 * }</pre>
 */
public final class SparseEmbedding {
    private final int[] ids;
    private final float[] values;

    private SparseEmbedding(int[] ids, float[] values) {
        this.ids = ids;
        this.values = values;
    }

    /** The vector of these entries (copied; ids must be distinct). */
    public static SparseEmbedding of(int[] ids, float[] values) {
        if (ids.length != values.length) {
            throw new IllegalArgumentException(ids.length + " ids and " + values.length + " values");
        }
        int[] sorted = ids.clone();
        Arrays.sort(sorted);
        for (int i = 1; i < sorted.length; i++) {
            if (sorted[i] == sorted[i - 1]) {
                throw new IllegalArgumentException("token id " + sorted[i] + " appears twice");
            }
        }
        return new SparseEmbedding(ids.clone(), values.clone());
    }

    /** The non-zero entries of a dense vector, ids ascending. */
    public static SparseEmbedding fromDense(float[] dense) {
        int n = 0;
        for (float v : dense) {
            if (v != 0) {
                n++;
            }
        }
        int[] ids = new int[n];
        float[] values = new float[n];
        int k = 0;
        for (int i = 0; i < dense.length; i++) {
            if (dense[i] != 0) {
                ids[k] = i;
                values[k++] = dense[i];
            }
        }
        return new SparseEmbedding(ids, values);
    }

    /** The number of stored (non-zero) entries. */
    public int size() {
        return ids.length;
    }

    /** The token ids, in stored order. */
    public int[] ids() {
        return ids.clone();
    }

    /** The weights, in stored order. */
    public float[] values() {
        return values.clone();
    }

    /** The weight of a token id (0 when absent). */
    public float get(int id) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == id) {
                return values[i];
            }
        }
        return 0;
    }

    /** {id: weight} in stored order (Jackson writes the ids as string keys). */
    public Map<Integer, Float> toMap() {
        Map<Integer, Float> m = new LinkedHashMap<>(ids.length * 2);
        for (int i = 0; i < ids.length; i++) {
            m.put(ids[i], values[i]);
        }
        return m;
    }

    /**
     * The {@code k} largest weights (sentence-transformers' {@code max_active_dims}), kept in stored order;
     * ties go to the smaller id. {@code k <= 0} or at least {@link #size()} keeps all.
     */
    public SparseEmbedding topK(int k) {
        if (k <= 0 || k >= ids.length) {
            return this;
        }
        Integer[] order = new Integer[ids.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> values[a] != values[b] ? Float.compare(values[b], values[a]) : Integer.compare(ids[a], ids[b]));
        boolean[] keep = new boolean[ids.length];
        for (int i = 0; i < k; i++) {
            keep[order[i]] = true;
        }
        int[] ki = new int[k];
        float[] kv = new float[k];
        int at = 0;
        for (int i = 0; i < ids.length; i++) {
            if (keep[i]) {
                ki[at] = ids[i];
                kv[at++] = values[i];
            }
        }
        return new SparseEmbedding(ki, kv);
    }

    /**
     * The dot product over shared ids: FlagEmbedding's {@code compute_lexical_matching_score} (float32
     * products summed in float64, in this vector's order).
     */
    public double dot(SparseEmbedding other) {
        int[] byId = sortedIndex(other);
        double sum = 0;
        for (int i = 0; i < ids.length; i++) {
            int j = find(other, byId, ids[i]);
            if (j >= 0) {
                sum += values[i] * other.values[j]; // float32 product, as numpy's float32 scalars
            }
        }
        return sum;
    }

    /** The dense vector of {@code dimensions} entries. */
    public float[] toDense(int dimensions) {
        float[] d = new float[dimensions];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= dimensions) {
                throw new IllegalArgumentException("token id " + ids[i] + " outside " + dimensions + " dimensions");
            }
            d[ids[i]] = values[i];
        }
        return d;
    }

    private static int[] sortedIndex(SparseEmbedding e) {
        Integer[] order = new Integer[e.ids.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Integer.compare(e.ids[a], e.ids[b]));
        int[] out = new int[order.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = order[i];
        }
        return out;
    }

    private static int find(SparseEmbedding e, int[] byId, int id) {
        int lo = 0;
        int hi = byId.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int v = e.ids[byId[mid]];
            if (v < id) {
                lo = mid + 1;
            } else if (v > id) {
                hi = mid - 1;
            } else {
                return byId[mid];
            }
        }
        return -1;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SparseEmbedding s && Arrays.equals(ids, s.ids) && Arrays.equals(values, s.values);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(ids) + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return toMap().toString();
    }
}
