package dev.xlmr.train;

/**
 * Bad training or evaluation data, with the file and line (or JSON path) it was found at:
 * {@code "train.jsonl:17: tokens and ner_tags differ in length (5 and 4)"}.
 *
 * <pre>{@code
 * try { TaskData.load(...); } catch (DataException e) { System.err.println(e.getMessage()); }
 * }</pre>
 */
public final class DataException extends IllegalArgumentException {
    public DataException(String where, String problem) {
        super(where + ": " + problem);
    }
}
