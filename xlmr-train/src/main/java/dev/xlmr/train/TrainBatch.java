package dev.xlmr.train;

/**
 * One batch of training inputs with its labels, as a transformers model's forward takes them.
 *
 * <pre>{@code
 * TrainBatch b = TrainBatch.classes(new int[][] {{0, 581, 2}}, new int[][] {{1, 1, 1}}, new int[] {2});
 * }</pre>
 *
 * @param inputIds [rows][seq]; for multiple choice the rows are batch * choices, choice-major within an example
 * @param attentionMask same shape, 1 for real tokens (null: all ones)
 * @param tokenTypeIds same shape (null: all zeros)
 * @param choices the number of choices for multiple choice, else 0
 * @param labels the labels flattened row-major (class ids, targets, or token labels with -100), or null
 * @param labelsIntegral whether the labels were given as integers (transformers picks the
 *     sequence-classification loss from it)
 * @param startPositions QA start positions (or null)
 * @param endPositions QA end positions (or null)
 */
public record TrainBatch(int[][] inputIds, int[][] attentionMask, int[][] tokenTypeIds, int choices,
                         double[] labels, boolean labelsIntegral, int[] startPositions, int[] endPositions) {

    /** A sequence-classification batch with one class id per row. */
    public static TrainBatch classes(int[][] inputIds, int[][] attentionMask, int[] labels) {
        double[] l = new double[labels.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = labels[i];
        }
        return new TrainBatch(inputIds, attentionMask, null, 0, l, true, null, null);
    }

    public int rows() {
        return inputIds.length;
    }

    public int seq() {
        return inputIds[0].length;
    }

    /** The labels as class indices. */
    int[] intLabels() {
        int[] out = new int[labels.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (int) labels[i];
        }
        return out;
    }
}
