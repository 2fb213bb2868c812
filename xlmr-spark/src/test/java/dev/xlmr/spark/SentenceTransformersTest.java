package dev.xlmr.spark;

import static dev.xlmr.spark.TestSpark.assertClose;
import static dev.xlmr.spark.TestSpark.floats;
import static dev.xlmr.spark.TestSpark.frame;
import static dev.xlmr.spark.TestSpark.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.pipelines.EmbeddingPipeline;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A sentence-transformers folder with every setting that changes the result (named prompts and a default
 * one, include_prompt false, CLS pooling, Normalize, max_seq_length, do_lower_case): Spark gives what
 * {@link EmbeddingPipeline} gives on the same folder, for each way of choosing the prompt.
 */
class SentenceTransformersTest {
    private static Path folder;
    private static EmbeddingPipeline pipeline;

    @BeforeAll
    static void makeFolder() throws IOException {
        folder = TestSpark.tempDir().resolve("st-prompts");
        Files.createDirectories(folder.resolve("1_Pooling"));
        Path base = Path.of(model("xlmr-base"));
        for (String f : List.of("config.json", "model.safetensors", "sentencepiece.bpe.model", "special_tokens_map.json",
                "tokenizer.json", "tokenizer_config.json", "modules.json")) {
            Files.createSymbolicLink(folder.resolve(f), base.resolve(f));
        }
        Files.writeString(folder.resolve("1_Pooling/config.json"), """
                {"word_embedding_dimension": 32, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false,
                 "include_prompt": false}""");
        Files.writeString(folder.resolve("sentence_bert_config.json"), """
                {"max_seq_length": 12, "do_lower_case": true}""");
        Files.writeString(folder.resolve("config_sentence_transformers.json"), """
                {"prompts": {"query": "Query: ", "passage": "Passage: "}, "default_prompt_name": "query"}""");
        pipeline = EmbeddingPipeline.load(folder.toString());
        pipeline.warnings(s -> { });
    }

    @AfterAll
    static void close() {
        pipeline.close();
    }

    private static List<String> texts() {
        List<String> t = new ArrayList<>(TestSpark.corpus().subList(600, 640));   // many longer than 12 tokens
        t.add("  Hello World!  ");
        return t;
    }

    private static void assertAsThePipeline(XlmrSentenceEmbeddings spark, EmbeddingPipeline.Options options) {
        List<String> texts = texts();
        List<float[]> want = pipeline.embedAll(texts, options);
        List<Row> got = spark.setModel(folder.toString()).setBatchSize(5).transform(frame(texts, 13, texts.size() - 13))
                .collectAsList();
        assertEquals(texts.size(), got.size());
        for (int i = 0; i < got.size(); i++) {
            assertEquals(i, got.get(i).getInt(0), "row order");
            assertClose(want.get(i), floats(got.get(i).get(2)), options + " row " + i);
        }
    }

    @Test
    void theDefaultPromptAndTheFolderSettings() {
        assertAsThePipeline(new XlmrSentenceEmbeddings(), EmbeddingPipeline.Options.defaults());
        // the settings matter: the folder's result is neither the plain model's nor the one without the prompt
        String text = "Hello World!";
        float[] folderResult = pipeline.embed(text);
        try (EmbeddingPipeline plain = EmbeddingPipeline.load(model("xlmr-base"))) {
            assertTrue(maxDiff(folderResult, plain.embed(text)) > 1e-3, "CLS pooling and the prompt apply");
        }
        assertTrue(maxDiff(folderResult, pipeline.embed(text, EmbeddingPipeline.Options.defaults().prefix(""))) > 1e-3,
                "the default prompt applies");
        assertEquals(1.0, norm(folderResult), 1e-5, "the Normalize module applies");
    }

    @Test
    void aNamedPrompt() {
        assertAsThePipeline(new XlmrSentenceEmbeddings().setPromptName("passage"),
                EmbeddingPipeline.Options.defaults().promptName("passage"));
    }

    @Test
    void aPrefixAnExplicitPoolingAndNormalize() {
        assertAsThePipeline(new XlmrSentenceEmbeddings().setPrefix("q: ").setPooling("mean").setNormalize(true),
                EmbeddingPipeline.Options.defaults().prefix("q: ").pooling(EmbeddingPipeline.Pooling.MEAN).normalize(true));
    }

    private static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    private static double norm(float[] a) {
        double s = 0;
        for (float v : a) {
            s += (double) v * v;
        }
        return Math.sqrt(s);
    }
}
