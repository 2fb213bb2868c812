package dev.xlmr.engine;

/**
 * The real tokens of a batch, concatenated: sequence {@code s} is tokens {@code [start[s], start[s + 1])}
 * (cumulative sequence lengths, as text-embeddings-inference's {@code cu_seqlens}), token {@code i} of it came
 * from column {@code index[s][i]} of the padded row. {@code keys[s]} (null: all) is how many of a sequence's
 * packed tokens the others attend to: the rest are query-only (padded positions kept on purpose).
 *
 * <pre>{@code
 * int[][] ids = {{0, 5, 2, 1}, {0, 7, 2}};
 * PackedBatch p = PackedBatch.of(ids, new int[][] {{1, 1, 1, 0}, {1, 1, 1}}, null, 1); // pad id 1
 * // p.start() is {0, 3, 6}; p.positions() is {2, 3, 4, 2, 3, 4}
 * }</pre>
 */
record PackedBatch(int[] ids, int[] positions, int[] types, int[] start, int[][] index, int[] keys) {

    int tokens() {
        return ids.length;
    }

    int sequences() {
        return start.length - 1;
    }

    int length(int s) {
        return start[s + 1] - start[s];
    }

    /** How many of sequence {@code s}'s tokens are attended to (the first ones). */
    int keys(int s) {
        return keys == null ? length(s) : keys[s];
    }

    /**
     * The tokens of {@code ids} where {@code mask} (null: all) is non-zero, with positions as transformers'
     * {@code create_position_ids_from_input_ids} (non-pad ids count from {@code pad + 1}) and token types
     * (null: zeros).
     */
    static PackedBatch of(int[][] ids, int[][] mask, int[][] types, int pad) {
        int rows = ids.length;
        int[] start = new int[rows + 1];
        int[][] index = new int[rows][];
        for (int r = 0; r < rows; r++) {
            int n = 0;
            for (int tkn = 0; tkn < ids[r].length; tkn++) {
                if (mask == null || mask[r][tkn] != 0) {
                    n++;
                }
            }
            start[r + 1] = start[r] + n;
        }
        int total = start[rows];
        int[] pid = new int[total];
        int[] pos = new int[total];
        int[] typ = new int[total];
        for (int r = 0; r < rows; r++) {
            index[r] = new int[start[r + 1] - start[r]];
            int w = start[r];
            int count = 0;
            for (int tkn = 0; tkn < ids[r].length; tkn++) {
                boolean nonPad = ids[r][tkn] != pad;
                if (nonPad) {
                    count++;
                }
                if (mask == null || mask[r][tkn] != 0) {
                    index[r][w - start[r]] = tkn;
                    pid[w] = ids[r][tkn];
                    pos[w] = nonPad ? count + pad : pad;
                    typ[w] = types == null ? 0 : types[r][tkn];
                    w++;
                }
            }
        }
        return new PackedBatch(pid, pos, typ, start, index, null);
    }

    /**
     * Tokens already packed on cumulative offsets {@code start} (as {@link dev.xlmr.model.PackedInput}), with the
     * same positions and types as {@link #of}: no copy of the ids, token {@code i} of a sequence is its column {@code i}.
     */
    static PackedBatch ofPacked(int[] ids, int[] start, int[] types, int pad) {
        int rows = start.length - 1;
        int[] pos = new int[ids.length];
        int[][] index = new int[rows][];
        for (int r = 0; r < rows; r++) {
            int count = 0;
            index[r] = new int[start[r + 1] - start[r]];
            for (int i = start[r]; i < start[r + 1]; i++) {
                index[r][i - start[r]] = i - start[r];
                boolean nonPad = ids[i] != pad;
                if (nonPad) {
                    count++;
                }
                pos[i] = nonPad ? count + pad : pad;
            }
        }
        return new PackedBatch(ids, pos, types == null ? new int[ids.length] : types, start, index, null);
    }

    /** Every position, each row's real tokens first (its keys), then its padded ones (query-only). */
    static PackedBatch keepingPadding(int[][] ids, int[][] mask, int[][] types, int pad) {
        int rows = ids.length;
        int[][] order = new int[rows][];
        int[] keys = new int[rows];
        for (int r = 0; r < rows; r++) {
            int len = ids[r].length;
            order[r] = new int[len];
            int w = 0;
            for (int pass = 0; pass < 2; pass++) {
                for (int t = 0; t < len; t++) {
                    boolean real = mask == null || mask[r][t] != 0;
                    if (real == (pass == 0)) {
                        order[r][w++] = t;
                    }
                }
                if (pass == 0) {
                    keys[r] = w;
                }
            }
        }
        PackedBatch all = of(ids, null, types, pad);
        int[] pid = new int[all.tokens()];
        int[] pos = new int[pid.length];
        int[] typ = new int[pid.length];
        for (int r = 0; r < rows; r++) {
            int base = all.start()[r];
            for (int i = 0; i < order[r].length; i++) {
                int from = base + order[r][i];
                pid[base + i] = all.ids()[from];
                pos[base + i] = all.positions()[from];
                typ[base + i] = all.types()[from];
            }
        }
        return new PackedBatch(pid, pos, typ, all.start(), order, keys);
    }

    /** Scatters packed rows of width {@code w} back to {@code [rows][seq][w]} (zeros at padding). */
    float[] unpack(float[] packed, int w, int rows, int seq) {
        float[] out = new float[Math.multiplyExact(Math.multiplyExact(rows, seq), w)];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < index[r].length; i++) {
                System.arraycopy(packed, (start[r] + i) * w, out, (r * seq + index[r][i]) * w, w);
            }
        }
        return out;
    }
}
