package dev.xlmr.spark;

import static dev.xlmr.spark.TestSpark.frame;
import static dev.xlmr.spark.TestSpark.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.List;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

/** All transformers in one Spark ML pipeline, saved and loaded as a PipelineModel. */
class PipelineModelTest {

    @Test
    void aSavedPipelineModelGivesTheSameResults() throws Exception {
        List<String> texts = TestSpark.corpus().subList(500, 512);
        Dataset<Row> df = frame(texts, 5, 7);
        PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {
            new SQLTransformer().setStatement("SELECT *, length(text) AS chars FROM __THIS__"),
            new XlmrSentenceEmbeddings().setModel(model("xlmr-base")).setOutputCol("embedding"),
            new XlmrTokenEmbeddings().setModel(model("xlmr-base")).setOutputFormat("annotation").setOutputCol("words"),
            new XlmrSequenceClassifier().setModel(model("xlmr-seqcls")).setOutputCol("sentiment"),
            new XlmrTokenClassifier().setModel(model("xlmr-tokcls")).setAggregation("simple").setOutputCol("entities"),
            new XlmrZeroShotClassifier().setModel(model("xlmr-nli")).setCandidateLabels(List.of("sport", "politics"))
                    .setOutputCol("topic"),
        }).fit(df);
        String path = TestSpark.tempDir().resolve("pipeline").toString();
        fitted.write().overwrite().save(path);
        PipelineModel loaded = PipelineModel.load(path);
        assertEquals(6, loaded.stages().length);
        assertInstanceOf(XlmrSentenceEmbeddings.class, loaded.stages()[1]);
        assertInstanceOf(XlmrZeroShotClassifier.class, loaded.stages()[5]);
        assertEquals(fitted.stages()[1].uid(), loaded.stages()[1].uid());

        List<Row> want = fitted.transform(df).collectAsList();
        Dataset<Row> again = loaded.transform(df);
        assertEquals(fitted.transform(df).schema(), again.schema());
        List<Row> got = again.collectAsList();
        assertEquals(texts.size(), got.size());
        for (int i = 0; i < got.size(); i++) {
            // equal, floats within rounding: the fast engine's first (cold) pass may differ in the last bit
            TestSpark.assertSameValue(want.get(i), got.get(i), "row " + i);
        }
        // column metadata survives the later stages
        assertEquals("word_embeddings", again.schema().apply("words").metadata().getString("annotatorType"));
    }
}
