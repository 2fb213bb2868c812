package dev.xlmr.spark;

import static dev.xlmr.spark.TestSpark.SPARK;
import static dev.xlmr.spark.TestSpark.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.pipelines.EmbeddingPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

class EmbedJobTest {

    @Test
    void embedsATextFileIntoParquet() throws Exception {
        Path dir = TestSpark.tempDir();
        Files.writeString(dir.resolve("in.txt"), "Hello world!\n\nBonjour le monde !\n");
        Map<String, String> o = EmbedJob.parse(new String[] {"--model", model("xlmr-base"), "--input",
            dir.resolve("in.txt").toString(), "--output", dir.resolve("out.parquet").toString(), "--normalize"});
        EmbedJob.run(SPARK, o);
        List<Row> rows = SPARK.read().parquet(dir.resolve("out.parquet").toString()).collectAsList();
        assertEquals(3, rows.size());
        try (EmbeddingPipeline p = EmbeddingPipeline.load(model("xlmr-base"))) {
            for (Row r : rows) {
                String text = r.getString(0);
                float[] want = text.isEmpty() ? new float[0]
                        : p.embed(text, EmbeddingPipeline.Options.defaults().normalize(true));
                TestSpark.assertClose(want, TestSpark.floats(r.get(1)), text);
            }
        }
    }

    @Test
    void clearUsageErrors() {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> EmbedJob.parse(new String[] {"--model", "m", "--input", "i"}));
        assertTrue(missing.getMessage().contains("--output is required"), missing.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> EmbedJob.parse(new String[] {"--modle", "m"}));
        assertTrue(unknown.getMessage().contains("unknown option --modle"), unknown.getMessage());
        IllegalArgumentException value = assertThrows(IllegalArgumentException.class,
                () -> EmbedJob.parse(new String[] {"--model"}));
        assertTrue(value.getMessage().contains("--model needs a value"), value.getMessage());
    }
}
