package dev.xlmr.pipelines;

import static dev.xlmr.pipelines.Fixtures.close;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.xlmr.model.Batch;
import dev.xlmr.model.NdArray;
import dev.xlmr.model.XlmRobertaModel;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** sentence-transformers prompts (multilingual-e5 style), include_prompt, max_seq_length; truncation warnings. */
class PromptsAndTruncationTest {

    /** A copy of the xlmr-base folder with prompts, a pooling config and a max_seq_length. */
    static Path e5Like(Path dir, boolean includePrompt, int maxSeq) throws IOException {
        Path src = Fixtures.dir("xlmr-base");
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.toList()) {
                if (Files.isRegularFile(f)) {
                    Files.copy(f, dir.resolve(f.getFileName()));
                }
            }
        }
        Files.createDirectories(dir.resolve("1_Pooling"));
        Files.writeString(dir.resolve("1_Pooling/config.json"), "{\"word_embedding_dimension\": 32,"
                + " \"pooling_mode_mean_tokens\": true, \"include_prompt\": " + includePrompt + "}");
        Files.writeString(dir.resolve("config_sentence_transformers.json"),
                "{\"prompts\": {\"query\": \"query: \", \"passage\": \"passage: \"}, \"default_prompt_name\": null}");
        Files.writeString(dir.resolve("sentence_bert_config.json"), "{\"max_seq_length\": " + maxSeq + ", \"do_lower_case\": false}");
        return dir;
    }

    static float[][] hidden(XlmRobertaModel m, Encoding e) {
        NdArray h = m.forward(Batch.of(new int[][] {e.ids()}, null, null)).get("last_hidden_state");
        float[][] out = new float[e.length()][h.dim(2)];
        for (int t = 0; t < e.length(); t++) {
            for (int j = 0; j < h.dim(2); j++) {
                out[t][j] = h.get(0, t, j);
            }
        }
        return out;
    }

    static float[] meanNormalized(float[][] tokens, int from) {
        float[] v = new float[tokens[0].length];
        double norm = 0;
        double[] s = new double[v.length];
        for (int t = from; t < tokens.length; t++) {
            for (int j = 0; j < v.length; j++) {
                s[j] += tokens[t][j];
            }
        }
        for (int j = 0; j < v.length; j++) {
            s[j] /= tokens.length - from;
            norm += s[j] * s[j];
        }
        for (int j = 0; j < v.length; j++) {
            v[j] = (float) (s[j] / Math.sqrt(norm));
        }
        return v;
    }

    @Test
    void namedPromptsArePrefixes(@TempDir Path tmp) throws IOException {
        try (EmbeddingPipeline e = EmbeddingPipeline.load(e5Like(tmp, true, 128).toString())) {
            assertEquals(List.of("query", "passage"), List.copyOf(e.prompts().keySet()));
            EmbeddingPipeline.Options o = EmbeddingPipeline.Options.defaults();
            float[] named = e.embed("how to reset a password", o.promptName("query"));
            float[] prefixed = e.embed("how to reset a password", o.prefix("query: "));
            float[] literal = e.embed("query: how to reset a password", o);
            assertArrayEquals(literal, named);
            assertArrayEquals(literal, prefixed);
            assertThrows(IllegalArgumentException.class, () -> e.embed("x", o.promptName("document")));
        }
    }

    @Test
    void includePromptFalseLeavesThePromptOutOfThePooling(@TempDir Path tmp) throws IOException {
        Path dir = e5Like(tmp, false, 128);
        XlmRobertaTokenizer tok = XlmRobertaTokenizer.load(dir);
        try (XlmRobertaModel m = XlmRobertaModel.load(dir); EmbeddingPipeline e = new EmbeddingPipeline(m, tok, dir)) {
            String text = "Die Datei wurde nicht gefunden.";
            Encoding enc = tok.encode("query: " + text);
            int promptTokens = tok.encode("query: ").length() - 1; // <s> and the prompt, not </s>
            float[] expected = meanNormalized(hidden(m, enc), promptTokens);
            float[] got = e.embed(text, EmbeddingPipeline.Options.defaults().promptName("query"));
            for (int j = 0; j < got.length; j++) {
                close(expected[j], got[j], "[" + j + "]");
            }
        }
    }

    @Test
    void longInputsAreTruncatedWithOneWarning(@TempDir Path tmp) throws IOException {
        Path dir = e5Like(tmp, true, 16);
        XlmRobertaTokenizer tok = XlmRobertaTokenizer.load(dir);
        String longText = "Le système de fichiers est vérifié au démarrage et encore une fois après.";
        try (XlmRobertaModel m = XlmRobertaModel.load(dir); EmbeddingPipeline e = new EmbeddingPipeline(m, tok, dir)) {
            List<String> warnings = new ArrayList<>();
            e.warnings(warnings::add);
            float[] got = e.embedAll(List.of(longText, longText, "short"), EmbeddingPipeline.Options.defaults()).get(0);
            assertEquals(1, warnings.size(), warnings.toString());
            assertTrue(warnings.get(0).startsWith("xlmr: warning: 2 inputs were longer than 16 tokens"), warnings.get(0));
            Encoding cut = tok.encode(longText, null, EncodeOptions.defaults().maxLength(16));
            assertEquals(16, cut.length());
            float[] expected = meanNormalized(hidden(m, cut), 0);
            for (int j = 0; j < got.length; j++) {
                close(expected[j], got[j], "[" + j + "]");
            }
        }
        try (TextClassificationPipeline clf = TextClassificationPipeline.load(Fixtures.dir("xlmr-seqcls").toString())) {
            List<String> warnings = new ArrayList<>();
            clf.warnings(warnings::add);
            clf.maxLength(12);
            List<TextClassificationPipeline.Label> got = clf.classify(longText, TextClassificationPipeline.Options.all());
            assertEquals(1, warnings.size());
            clf.maxLength(128);
            String truncated = longText.substring(0, tok.encode(longText).ends()[10]);
            assertEquals(12, tok.encode(truncated).length());
            List<TextClassificationPipeline.Label> exp = clf.classify(truncated, TextClassificationPipeline.Options.all());
            for (int k = 0; k < exp.size(); k++) {
                assertEquals(exp.get(k).label(), got.get(k).label());
                close(exp.get(k).score(), got.get(k).score(), exp.get(k).label());
            }
        }
    }

    @Test
    void batchSizeDoesNotChangeResultsOrOrder() {
        List<String> texts = List.of("a", "Le système de fichiers est vérifié au démarrage.", "Hello world!", "",
                "Die Datei wurde nicht gefunden; bitte erneut versuchen.");
        try (TextClassificationPipeline clf = TextClassificationPipeline.load(Fixtures.dir("xlmr-seqcls").toString())) {
            var big = clf.classifyAll(texts, null, TextClassificationPipeline.Options.all());
            clf.batchSize(2);
            var small = clf.classifyAll(texts, null, TextClassificationPipeline.Options.all());
            for (int i = 0; i < texts.size(); i++) {
                var one = clf.classify(texts.get(i), TextClassificationPipeline.Options.all());
                for (int k = 0; k < one.size(); k++) {
                    assertEquals(one.get(k).label(), big.get(i).get(k).label());
                    close(one.get(k).score(), big.get(i).get(k).score(), texts.get(i));
                    close(one.get(k).score(), small.get(i).get(k).score(), texts.get(i));
                }
            }
            assertThrows(IllegalArgumentException.class, () -> clf.batchSize(0));
            assertThrows(IllegalArgumentException.class, () -> clf.maxLength(1000));
        }
    }
}
