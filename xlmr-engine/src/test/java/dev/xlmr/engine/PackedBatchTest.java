package dev.xlmr.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** {@link PackedBatch} against hand-written offsets and positions (transformers' position ids, pad id 1). */
class PackedBatchTest {
    static final int[][] IDS = {{0, 5, 2, 1}, {0, 7, 2}};
    static final int[][] MASK = {{1, 1, 1, 0}, {1, 1, 1}};

    @Test
    void masksOutPaddingWithCumulativeOffsets() {
        PackedBatch p = PackedBatch.of(IDS, MASK, new int[][] {{0, 0, 1, 0}, {0, 1, 1}}, 1);
        assertArrayEquals(new int[] {0, 3, 6}, p.start());
        assertArrayEquals(new int[] {0, 5, 2, 0, 7, 2}, p.ids());
        assertArrayEquals(new int[] {2, 3, 4, 2, 3, 4}, p.positions());
        assertArrayEquals(new int[] {0, 0, 1, 0, 1, 1}, p.types());
        assertEquals(2, p.sequences());
        assertEquals(3, p.keys(0));
        // a pad id inside the unmasked tokens keeps position pad, as create_position_ids_from_input_ids gives
        PackedBatch all = PackedBatch.of(IDS, null, null, 1);
        assertArrayEquals(new int[] {0, 4, 7}, all.start());
        assertArrayEquals(new int[] {2, 3, 4, 1, 2, 3, 4}, all.positions());
        assertArrayEquals(new int[7], all.types());
    }

    @Test
    void keepingPaddingPutsPaddedPositionsLastAsQueryOnly() {
        PackedBatch p = PackedBatch.keepingPadding(new int[][] {{0, 1, 5, 2}}, new int[][] {{1, 0, 1, 1}}, null, 1);
        assertArrayEquals(new int[] {0, 4}, p.start());
        assertArrayEquals(new int[] {0, 5, 2, 1}, p.ids());
        assertArrayEquals(new int[] {2, 3, 4, 1}, p.positions());
        assertArrayEquals(new int[] {0, 2, 3, 1}, p.index()[0]);
        assertEquals(3, p.keys(0));
        // unpack scatters back to the padded columns
        float[] packed = {10, 11, 20, 21, 30, 31, 40, 41};
        assertArrayEquals(new float[] {10, 11, 40, 41, 20, 21, 30, 31}, p.unpack(packed, 2, 1, 4));
    }

    @Test
    void unpackLeavesZerosAtPadding() {
        PackedBatch p = PackedBatch.of(IDS, MASK, null, 1);
        float[] out = p.unpack(new float[] {1, 2, 3, 4, 5, 6}, 1, 2, 4);
        assertArrayEquals(new float[] {1, 2, 3, 0, 4, 5, 6, 0}, out);
    }
}
