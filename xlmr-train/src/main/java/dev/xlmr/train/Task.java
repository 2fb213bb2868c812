package dev.xlmr.train;

import dev.xlmr.model.Head;

/**
 * What {@link Trainer} fine-tunes a model for, with the head it trains and the metric that picks
 * the best checkpoint.
 *
 * <pre>{@code
 * Task t = Task.parse("token-classification"); // Head.TOKEN_CLASSIFICATION, metric "f1"
 * }</pre>
 */
public enum Task {
    TEXT_CLASSIFICATION("text-classification", Head.SEQUENCE_CLASSIFICATION, "accuracy"),
    TOKEN_CLASSIFICATION("token-classification", Head.TOKEN_CLASSIFICATION, "f1"),
    QUESTION_ANSWERING("question-answering", Head.QUESTION_ANSWERING, "f1"),
    FILL_MASK("fill-mask", Head.MASKED_LM, "loss"),
    MULTIPLE_CHOICE("multiple-choice", Head.MULTIPLE_CHOICE, "accuracy");

    private final String cliName;
    private final Head head;
    private final String metric;

    Task(String cliName, Head head, String metric) {
        this.cliName = cliName;
        this.head = head;
        this.metric = metric;
    }

    /** The name on the command line ("text-classification", ...). */
    public String cliName() {
        return cliName;
    }

    public Head head() {
        return head;
    }

    /** The evaluation metric that picks the best checkpoint ("loss": lower is better, else higher). */
    public String metric() {
        return metric;
    }

    /** The task of a command-line name. */
    public static Task parse(String name) {
        for (Task t : values()) {
            if (t.cliName.equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown task '" + name + "' (text-classification, token-classification, "
                + "question-answering, fill-mask, multiple-choice)");
    }
}
