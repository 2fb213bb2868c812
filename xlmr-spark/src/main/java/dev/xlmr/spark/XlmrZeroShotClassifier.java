package dev.xlmr.spark;

import dev.xlmr.pipelines.ZeroShotClassificationPipeline;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.types.DataType;

/**
 * Zero-shot classification with an NLI model, as {@link ZeroShotClassificationPipeline}: each
 * candidate label becomes the hypothesis "This example is {label}."; the output is a
 * {@code struct<label: string, score: double, scores: map<string, double>>} with the best label,
 * its score and every label's score (best first).
 *
 * <pre>{@code
 * XlmrZeroShotClassifier zs = new XlmrZeroShotClassifier()
 *         .setModel("joeddav/xlm-roberta-large-xnli")
 *         .setCandidateLabels(new String[] {"sport", "politics", "technology"})
 *         .setOutputCol("topic");
 * zs.transform(df).select(col("text"), col("topic.label"));
 * }</pre>
 *
 * Single-label (default): softmax of the entailment logits over the labels; multi-label: each label
 * scored on its own. Null texts give null, empty or blank texts null.
 */
public final class XlmrZeroShotClassifier extends XlmrTransformer<XlmrZeroShotClassifier> {
    private static final long serialVersionUID = 1L;

    private final StringArrayParam candidateLabels;
    private final Param<String> hypothesisTemplate;
    private final BooleanParam multiLabel;

    public XlmrZeroShotClassifier() {
        this(Identifiable.randomUID("xlmrZeroShotClassifier"));
    }

    /** With a given uid (Spark's readers use this constructor). */
    public XlmrZeroShotClassifier(String uid) {
        super(uid, "prediction");
        candidateLabels = new StringArrayParam(this, "candidateLabels", "the labels to choose from");
        hypothesisTemplate = new Param<>(this, "hypothesisTemplate", "the hypothesis, with {} where the label goes");
        multiLabel = new BooleanParam(this, "multiLabel", "score each label on its own (several can be true)");
        setDefault(hypothesisTemplate, ZeroShotClassificationPipeline.DEFAULT_TEMPLATE);
        setDefault(multiLabel, false);
    }

    /** Reads a saved transformer (for {@code MLReadable} and {@code PipelineModel.load}). */
    public static MLReader<XlmrZeroShotClassifier> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads a transformer saved with {@code write().save(path)}. */
    public static XlmrZeroShotClassifier load(String path) {
        return read().load(path);
    }

    public StringArrayParam candidateLabels() {
        return candidateLabels;
    }

    public Param<String> hypothesisTemplate() {
        return hypothesisTemplate;
    }

    public BooleanParam multiLabel() {
        return multiLabel;
    }

    /** The candidate labels, or null when not set. */
    public String[] getCandidateLabels() {
        return isDefined(candidateLabels) ? getOrDefault(candidateLabels) : null;
    }

    /** Sets the labels to choose from (blank ones are dropped, the others stripped, as transformers). */
    public XlmrZeroShotClassifier setCandidateLabels(String[] labels) {
        set(candidateLabels, labels(labels).toArray(new String[0]));
        return this;
    }

    /** Sets the labels to choose from. */
    public XlmrZeroShotClassifier setCandidateLabels(List<String> labels) {
        return setCandidateLabels(labels.toArray(new String[0]));
    }

    public String getHypothesisTemplate() {
        return getOrDefault(hypothesisTemplate);
    }

    /** Sets the hypothesis template, with {@code {}} where the label goes. */
    public XlmrZeroShotClassifier setHypothesisTemplate(String template) {
        new ZeroShotClassificationPipeline.Options(template, false);   // checks the {}
        set(hypothesisTemplate, template);
        return this;
    }

    public boolean getMultiLabel() {
        return (Boolean) getOrDefault(multiLabel);
    }

    public XlmrZeroShotClassifier setMultiLabel(boolean on) {
        set(multiLabel, on);
        return this;
    }

    private static List<String> labels(String[] labels) {
        List<String> out = new ArrayList<>();
        for (String l : labels == null ? new String[0] : labels) {
            if (l != null && !l.isBlank()) {
                out.add(l.strip());
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("at least one candidate label is needed, got " + Arrays.toString(labels));
        }
        return out;
    }

    @Override
    DataType outputType() {
        return XlmrSequenceClassifier.RESULT;
    }

    @Override
    Task task() {
        String[] labels = getCandidateLabels();
        if (labels == null) {
            throw new IllegalArgumentException("XlmrZeroShotClassifier: no candidate labels; call setCandidateLabels");
        }
        ZeroShotClassificationPipeline.Options o = new ZeroShotClassificationPipeline.Options(getHypothesisTemplate(),
                getMultiLabel());
        return new ZeroShotTask(getModel(), getRevision(), getBatchSize(), getMaxLength(), labels(labels),
                o.hypothesisTemplate(), o.multiLabel());
    }

    private static final class ZeroShotTask extends Task {
        private static final long serialVersionUID = 1L;
        private final List<String> labels;
        private final String template;
        private final boolean multiLabel;

        ZeroShotTask(String model, String revision, int batchSize, int maxLength, List<String> labels, String template,
                     boolean multiLabel) {
            super(model, revision, batchSize, maxLength);
            this.labels = List.copyOf(labels);
            this.template = template;
            this.multiLabel = multiLabel;
        }

        @Override
        Batcher open() {
            ZeroShotClassificationPipeline p = ModelCache.pipeline(ZeroShotClassificationPipeline.class, this,
                    m -> new ZeroShotClassificationPipeline(m.encoder(), m.tokenizer()));
            ZeroShotClassificationPipeline.Options o = new ZeroShotClassificationPipeline.Options(template, multiLabel);
            return (texts, pairs) -> {
                List<ZeroShotClassificationPipeline.Result> all = p.classifyAll(texts, labels, o);
                Object[] out = new Object[all.size()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = XlmrSequenceClassifier.result(all.get(i).labels(), all.get(i).scores());
                }
                return out;
            };
        }

        @Override
        Object emptyResult() {
            return null;
        }
    }
}
