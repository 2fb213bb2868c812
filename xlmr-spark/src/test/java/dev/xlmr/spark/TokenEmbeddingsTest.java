package dev.xlmr.spark;

import static dev.xlmr.spark.TestSpark.assertClose;
import static dev.xlmr.spark.TestSpark.floats;
import static dev.xlmr.spark.TestSpark.frame;
import static dev.xlmr.spark.TestSpark.model;
import static dev.xlmr.spark.TestSpark.rows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.tokenizer.Encoding;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructField;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TokenEmbeddingsTest {
    private static EmbeddingPipeline reference;

    @BeforeAll
    static void load() {
        reference = EmbeddingPipeline.load(model("xlmr-base"));
        reference.warnings(s -> { });
    }

    @AfterAll
    static void close() {
        reference.close();
    }

    private static final List<String> TEXTS = List.of("Hello world!", "Le système de fichiers est vérifié au démarrage.",
            "Hello, world! Straße_1 don't 文件系统 😀 ok", "a<mask>b", "Файл не найден, попробуйте ещё раз.",
            "Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ １２３ and ﬁ ligature");

    /** Texts the pipeline takes as they are (a sentence-transformers folder strips them). */
    private static List<String> texts() {
        List<String> t = new ArrayList<>(TEXTS);
        TestSpark.corpus().subList(42, 3042).stream().filter(s -> !s.isBlank() && s.equals(s.strip()))
                .limit(60).forEach(t::add);
        TestSpark.corpus().stream().filter(s -> s.length() > 900 && s.equals(s.strip())).limit(2).forEach(t::add);
        return t;
    }

    @Test
    void subwordTokensAsThePipeline() {
        List<String> texts = texts();
        List<Row> out = new XlmrTokenEmbeddings().setModel(model("xlmr-base")).setAlignment("none").setBatchSize(5)
                .transform(frame(texts, 3, texts.size() - 4, 1)).collectAsList();
        List<float[][]> want = reference.tokenEmbeddings(texts, EmbeddingPipeline.Options.defaults());
        for (int i = 0; i < texts.size(); i++) {
            assertEquals(i, out.get(i).getInt(0));
            List<Row> tokens = rows(out.get(i).get(2));
            float[][] w = want.get(i);
            Encoding e = reference.tokenizer().encode(texts.get(i));
            int n = Math.min(e.length(), reference.maxLength()) - 2;   // without <s> and </s>
            assertEquals(n, tokens.size(), texts.get(i));
            for (int k = 0; k < n; k++) {
                Row t = tokens.get(k);
                assertEquals(e.tokens()[k + 1], t.getString(0));
                assertEquals(e.starts()[k + 1], t.getInt(1));
                assertEquals(e.ends()[k + 1], t.getInt(2));
                assertClose(w[k + 1], floats(t.get(3)), texts.get(i) + " token " + k);
            }
        }
    }

    @Test
    void wordsTakeTheirFirstPieceOrTheMean() {
        List<String> texts = TEXTS;
        Dataset<Row> df = frame(texts, texts.size());
        XlmrTokenEmbeddings tok = new XlmrTokenEmbeddings().setModel(model("xlmr-base"));
        List<Row> pieces = tok.copy(new org.apache.spark.ml.param.ParamMap()).setAlignment("none").transform(df).collectAsList();
        List<Row> first = tok.transform(df).collectAsList();
        List<Row> mean = tok.copy(new org.apache.spark.ml.param.ParamMap()).setAlignment("average").transform(df).collectAsList();
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            List<Row> ps = rows(pieces.get(i).get(2));
            List<int[]> words = Words.spans(text);
            List<Row> f = rows(first.get(i).get(2));
            List<Row> m = rows(mean.get(i).get(2));
            assertEquals(words.size(), f.size(), text);
            assertEquals(words.size(), m.size(), text);
            for (int w = 0; w < words.size(); w++) {
                int begin = words.get(w)[0];
                int end = words.get(w)[1];
                assertEquals(text.substring(begin, end), f.get(w).getString(0));
                assertEquals(begin, f.get(w).getInt(1));
                assertEquals(end, f.get(w).getInt(2));
                List<float[]> covering = new ArrayList<>();
                for (Row p : ps) {
                    if (p.getInt(1) < end && p.getInt(2) > begin && p.getInt(1) < p.getInt(2)) {
                        covering.add(floats(p.get(3)));
                    }
                }
                assertTrue(!covering.isEmpty(), text + ": " + text.substring(begin, end));
                assertClose(covering.get(0), floats(f.get(w).get(3)), text + " first " + w);
                float[] avg = new float[covering.get(0).length];
                for (int j = 0; j < avg.length; j++) {
                    double s = 0;
                    for (float[] c : covering) {
                        s += c[j];
                    }
                    avg[j] = (float) (s / covering.size());
                }
                assertClose(avg, floats(m.get(w).get(3)), text + " average " + w);
            }
        }
        // "Hello world!": Hello, world, !
        assertEquals(List.of("Hello", "world", "!"), rows(first.get(0).get(2)).stream().map(r -> r.getString(0)).toList());
    }

    @Test
    void sparkNlpAnnotations() {
        Dataset<Row> out = new XlmrTokenEmbeddings().setModel(model("xlmr-base")).setOutputFormat("annotation")
                .setOutputCol("embeddings").transform(frame(List.of("Hello world!"), 1));
        StructField f = out.schema().apply("embeddings");
        assertEquals("array<struct<annotatorType:string,begin:int,end:int,result:string,metadata:map<string,string>,"
                + "embeddings:array<float>>>", f.dataType().simpleString());
        assertEquals("word_embeddings", f.metadata().getString("annotatorType"));
        List<Row> anns = rows(out.collectAsList().get(0).getAs("embeddings"));
        List<Row> structs = rows(new XlmrTokenEmbeddings().setModel(model("xlmr-base"))
                .transform(frame(List.of("Hello world!"), 1)).collectAsList().get(0).get(2));
        assertEquals(3, anns.size());
        int[][] spans = {{0, 4}, {6, 10}, {11, 11}};   // Spark NLP: end inclusive
        String[] words = {"Hello", "world", "!"};
        for (int k = 0; k < 3; k++) {
            Row a = anns.get(k);
            assertEquals("word_embeddings", a.getString(0));
            assertEquals(spans[k][0], a.getInt(1));
            assertEquals(spans[k][1], a.getInt(2));
            assertEquals(words[k], a.getString(3));
            Map<String, String> meta = scala.jdk.javaapi.CollectionConverters.asJava(a.<String, String>getMap(4));
            assertEquals("0", meta.get("sentence"));
            assertEquals(words[k], meta.get("token"));
            assertEquals("true", meta.get("isWordStart"));
            assertTrue(Integer.parseInt(meta.get("pieceId")) > 2);
            assertClose(floats(structs.get(k).get(3)), floats(a.get(5)), words[k]);
        }
    }

    @Test
    void nullsAndEmptyStrings() {
        List<Row> out = new XlmrTokenEmbeddings().setModel(model("xlmr-base"))
                .transform(frame(Arrays.asList(null, "", " \t", "x"), 4)).collectAsList();
        assertNull(out.get(0).get(2));
        assertEquals(0, rows(out.get(1).get(2)).size());
        assertEquals(0, rows(out.get(2).get(2)).size());
        assertEquals(1, rows(out.get(3).get(2)).size());
    }

    @Test
    void wordSpans() {
        String t = "Hello, world! Straße_1 don't 文件 a\u0301 😀";
        List<String> words = Words.spans(t).stream().map(s -> t.substring(s[0], s[1])).toList();
        assertEquals(List.of("Hello", ",", "world", "!", "Straße_1", "don", "'", "t", "文", "件", "a\u0301", "😀"), words);
        assertEquals(List.of(), Words.spans(" \t\n"));
    }

    @Test
    void saveAndLoad() throws Exception {
        XlmrTokenEmbeddings t = new XlmrTokenEmbeddings().setModel("org/name").setRevision("abc").setAlignment("average")
                .setOutputFormat("annotation").setMaxLength(64);
        String path = TestSpark.tempDir().resolve("tok").toString();
        t.save(path);
        XlmrTokenEmbeddings back = XlmrTokenEmbeddings.load(path);
        assertEquals("org/name", back.getModel());
        assertEquals("abc", back.getRevision());
        assertEquals("average", back.getAlignment());
        assertEquals("annotation", back.getOutputFormat());
        assertEquals(64, back.getMaxLength());
        assertEquals(t.outputType(), back.outputType());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.setAlignment("last"));
        assertTrue(e.getMessage().contains("unknown alignment 'last' (first, average, none)"), e.getMessage());
    }
}
