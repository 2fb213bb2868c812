package dev.xlmr.doors;

import static dev.xlmr.doors.Doors.REF_TOL;
import static dev.xlmr.doors.Doors.TOL;
import static dev.xlmr.doors.Doors.assertAllClose;
import static dev.xlmr.doors.Doors.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.doors.Doors.Answer;
import dev.xlmr.doors.Doors.Cli;
import dev.xlmr.doors.Doors.Server;
import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.pipelines.EmbeddingPipeline.Options;
import dev.xlmr.spark.XlmrSentenceEmbeddings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Sentence and token embeddings through every door (Java API, {@code ./xlmr embed}, the server's {@code /embed},
 * {@code /embed_all} and {@code /v1/embeddings}, Spark's {@link XlmrSentenceEmbeddings}) over the xlmr-base
 * fixture as a plain folder, as it is (mean + Normalize), and as sentence-transformers folders in every pooling
 * mode, with prompts, a default prompt, include_prompt false, max_seq_length and do_lower_case. The doors agree
 * within {@link Doors#TOL}; the Java API agrees with poolings of transformers' last hidden states in expected.json.
 */
class EmbeddingDoorsTest {
    @TempDir
    static Path tmp;

    /**
     * A test folder.
     *
     * @param modes         pooling flags of 1_Pooling/config.json (null: a plain folder without modules.json;
     *                      empty: the fixture folder as it is)
     * @param defaultPrompt the default_prompt_name ("query" or "passage"), or null
     * @param prompts       whether config_sentence_transformers.json has prompts
     */
    record Variant(String name, List<String> modes, boolean normalize, boolean prompts, String defaultPrompt,
                   boolean includePrompt, int maxSeqLength, boolean lowerCase) {
        @Override
        public String toString() {
            return name;
        }

        /** Whether transformers' hidden states of the fixture texts give the default embeddings (no prompt, no change of the text). */
        boolean hasReference() {
            return defaultPrompt == null && !lowerCase;
        }
    }

    static Stream<Variant> variants() {
        return Stream.of(
                new Variant("plain", null, false, false, null, true, 0, false),
                new Variant("fixture", List.of(), true, false, null, true, 0, false),
                new Variant("mean+prompts", List.of("mean"), true, true, "query", true, 0, false),
                new Variant("cls", List.of("cls_token"), false, false, null, true, 0, false),
                new Variant("max-include_prompt-false", List.of("max_tokens"), false, true, null, false, 0, false),
                new Variant("weightedmean", List.of("weightedmean_tokens"), true, false, null, true, 0, false),
                new Variant("lasttoken-max_seq_length", List.of("lasttoken"), false, false, null, true, 12, false),
                new Variant("cls+mean-lower_case", List.of("cls_token", "mean_tokens"), true, true, "passage", true, 0, true));
    }

    /** The folder of a variant: a copy of xlmr-base with the variant's sentence-transformers files. */
    static Path folder(Variant v) {
        if (v.modes() != null && v.modes().isEmpty()) return Doors.testdata("xlmr-base");
        Path dir = Doors.copyModel("xlmr-base", tmp.resolve(v.name()));
        if (v.modes() == null) return dir;
        return Doors.sentenceTransformers(dir, v.modes(), v.normalize(), v.prompts(), v.defaultPrompt(), v.includePrompt(),
                v.maxSeqLength() > 0 ? v.maxSeqLength() : 128, v.lowerCase());
    }

    /** The fixture texts (every language, spaces, tabs and a newline, emoji, an empty text, a long one) and a few more. */
    static List<String> texts() {
        List<String> t = new ArrayList<>(Doors.caseTexts(Doors.expected("xlmr-base")));
        t.add("Query: UPPER case Words");
        t.add("   ");
        return t;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void everyDoorGivesTheJavaApisEmbeddings(Variant v) {
        Path dir = folder(v);
        List<String> texts = texts();
        List<float[]> plain;
        List<float[]> normalized;
        List<float[]> passage;
        List<float[][]> tokens;
        List<Integer> fitting = new ArrayList<>();
        try (EmbeddingPipeline api = EmbeddingPipeline.load(dir.toString())) {
            api.warnings(w -> { });
            plain = api.embedAll(texts, Options.defaults());
            normalized = api.embedAll(texts, Options.defaults().normalize(true));
            passage = v.prompts() ? api.embedAll(texts, Options.defaults().promptName("passage")) : null;
            tokens = api.tokenEmbeddings(texts, Options.defaults());
            List<EmbeddingPipeline.Input> whole = api.prepare(texts, Options.defaults(), false);
            for (int i = 0; i < texts.size(); i++) if (whole.get(i).length() <= api.inputLimit()) fitting.add(i);
            if (v.hasReference()) assertReferences(v, api, plain);
        }
        assertTrue(fitting.size() > texts.size() / 2, "most texts fit");

        // the CLI: ./xlmr embed --jsonl, with --normalize and --prompt-name
        String stdin = Doors.textLines(texts);
        assertAllClose(plain, cliVectors(Doors.cli(stdin, "embed", "--model", dir.toString(), "--jsonl")), TOL, v + " cli");
        assertAllClose(normalized, cliVectors(Doors.cli(stdin, "embed", "--model", dir.toString(), "--jsonl", "--normalize")),
                TOL, v + " cli --normalize");
        if (v.prompts()) {
            assertAllClose(passage, cliVectors(Doors.cli(stdin, "embed", "--model", dir.toString(), "--jsonl",
                    "--prompt-name", "passage")), TOL, v + " cli --prompt-name passage");
        }

        // the server: TEI's /embed (normalize true by default, on top of the folder's), /embed_all, OpenAI's /v1/embeddings;
        // blank inputs are TEI's 400 Empty, so the server doors see the others
        List<Integer> at = Doors.served(texts);
        List<String> st = Doors.pick(texts, at);
        try (Server s = Server.start(dir, null)) {
            assertAllClose(Doors.pick(plain, at), Doors.vectors(s.post("/embed", Map.of("inputs", st, "normalize", false,
                    "truncate", true)).ok()), TOL, v + " /embed");
            assertAllClose(Doors.pick(normalized, at), Doors.vectors(s.post("/embed", Map.of("inputs", st, "truncate", true)).ok()),
                    TOL, v + " /embed normalize");
            if (v.prompts()) {
                assertAllClose(Doors.pick(passage, at), Doors.vectors(s.post("/embed", Map.of("inputs", st, "normalize", false,
                        "truncate", true, "prompt_name", "passage")).ok()), TOL, v + " /embed prompt_name");
            }
            JsonNode all = s.post("/embed_all", Map.of("inputs", st, "truncate", true)).ok();
            for (int i = 0; i < st.size(); i++) {
                assertAllClose(List.of(tokens.get(at.get(i))), Doors.vectors(all.get(i)), TOL, v + " /embed_all #" + at.get(i));
            }
            // over-long inputs: truncated by default on both routes, as TEI >= 1.9.2 (auto-truncate)
            JsonNode oa = s.post("/v1/embeddings", Map.of("input", st, "model", "m")).ok();
            for (int k = 0; k < st.size(); k++) {
                assertEquals(k, oa.get("data").get(k).get("index").asInt());
                assertClose(normalized.get(at.get(k)), Doors.floats(oa.get("data").get(k).get("embedding")), TOL,
                        v + " /v1/embeddings #" + at.get(k));
            }
            assertAllClose(Doors.pick(normalized, at), Doors.vectors(s.post("/embed", Map.of("inputs", st)).ok()),
                    TOL, v + " /embed auto-truncate");
            Answer blank = s.post("/embed", Map.of("inputs", List.of("")));
            assertEquals(400, blank.status(), blank.body());
        }

        // Spark: blank texts give an empty array there (documented); the others the Java API's vectors
        assertSpark(texts, plain, spark(dir).transform(Doors.frame(texts)).collectAsList(), v + " spark");
        assertSpark(texts, normalized, spark(dir).setNormalize(true).transform(Doors.frame(texts)).collectAsList(),
                v + " spark normalize");
        if (v.prompts()) {
            assertSpark(texts, passage, spark(dir).setPromptName("passage").transform(Doors.frame(texts)).collectAsList(),
                    v + " spark promptName");
        }
    }

    /** The default prompt is really applied (and not ignored alike by every door), prompt "" is none. */
    @Test
    void theDefaultPromptIsAppliedAndAnEmptyPromptNameIsNone() {
        Variant v = variants().filter(x -> x.defaultPrompt() != null && !x.lowerCase()).findFirst().orElseThrow();
        Path dir = folder(v);
        List<String> texts = List.of("Hello world!", "Wo ist die Datei?");
        List<float[]> none;
        try (EmbeddingPipeline api = EmbeddingPipeline.load(dir.toString())) {
            api.warnings(w -> { });
            List<float[]> dflt = api.embedAll(texts, Options.defaults());
            assertAllClose(dflt, api.embedAll(texts, Options.defaults().promptName(v.defaultPrompt())), TOL, "default prompt");
            assertAllClose(dflt, api.embedAll(texts.stream().map(t -> "query: " + t).toList(), Options.defaults().prefix("")),
                    TOL, "default prompt = its text before the input");
            none = api.embedAll(texts, Options.defaults().prefix(""));
            assertTrue(Math.abs(dflt.get(0)[0] - none.get(0)[0]) > 1e-4, "the prompt changes the vector");
        }
        try (Server s = Server.start(dir, null)) {
            assertAllClose(none, Doors.vectors(s.post("/embed", Map.of("inputs", texts, "normalize", false, "prompt_name", ""))
                    .ok()), TOL, "/embed prompt_name \"\"");
        }
        assertAllClose(none, cliVectors(Doors.cli(Doors.textLines(texts), "embed", "--model", dir.toString(), "--jsonl",
                "--prefix", "")), TOL, "cli --prefix ''");
    }

    /** What a door cannot do gives one clear line at every door: an unknown prompt, a module this project does not run. */
    @Test
    void unknownPromptsAndUnsupportedModulesAreClearErrorsAtEveryDoor() {
        Variant v = variants().filter(Variant::prompts).findFirst().orElseThrow();
        Path dir = folder(v);
        List<String> texts = List.of("Hello world!");
        try (EmbeddingPipeline api = EmbeddingPipeline.load(dir.toString())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> api.embedAll(texts, Options.defaults().promptName("title")));
            assertTrue(e.getMessage().contains("no prompt named 'title'"), e.getMessage());
        }
        Cli c = Doors.cli("Hello world!\n", "embed", "--model", dir.toString(), "--prompt-name", "title");
        assertEquals(1, c.code(), c.err());
        assertTrue(c.err().startsWith("xlmr: ") && c.err().contains("no prompt named 'title'"), c.err());
        try (Server s = Server.start(dir, null)) {
            Answer a = s.post("/embed", Map.of("inputs", texts, "prompt_name", "title"));
            assertEquals(422, a.status(), a.body());
            assertTrue(a.json().get("error").asText().contains("no prompt named 'title'"), a.body());
        }
        Exception e = assertThrows(Exception.class,
                () -> spark(dir).setPromptName("title").transform(Doors.frame(texts)).collectAsList());
        assertTrue(String.valueOf(e.getMessage()).contains("no prompt named 'title'"), String.valueOf(e.getMessage()));

        // a module this project does not run (a CNN over the token embeddings): no door gives vectors without it
        Path dense = Doors.copyModel("xlmr-base", tmp.resolve("cnn"));
        Doors.sentenceTransformers(dense, List.of("mean_tokens"), false, false, null, true, 128, false);
        Doors.writeJson(dense.resolve("modules.json"), List.of(
                Map.of("idx", 0, "name", "0", "path", "", "type", "sentence_transformers.models.Transformer"),
                Map.of("idx", 1, "name", "1", "path", "1_Pooling", "type", "sentence_transformers.models.Pooling"),
                Map.of("idx", 2, "name", "2", "path", "2_CNN", "type", "sentence_transformers.models.CNN")));
        String why = "sentence_transformers.models.CNN";
        try (EmbeddingPipeline api = EmbeddingPipeline.load(dense.toString())) {
            IllegalArgumentException x = assertThrows(IllegalArgumentException.class,
                    () -> api.embedAll(texts, Options.defaults()));
            assertTrue(x.getMessage().contains(why), x.getMessage());
        }
        c = Doors.cli("Hello world!\n", "embed", "--model", dense.toString());
        assertEquals(1, c.code(), c.err());
        assertTrue(c.err().startsWith("xlmr: ") && c.err().contains(why), c.err());
        try (Server s = Server.start(dense, null)) {
            Answer a = s.post("/embed", Map.of("inputs", texts));
            assertEquals(422, a.status(), a.body());
            assertTrue(a.json().get("error").asText().contains(why), a.body());
        } catch (IllegalStateException | IllegalArgumentException refused) {
            assertTrue(String.valueOf(refused.getMessage()).contains(why), refused.getMessage()); // or refused at load
        }
        e = assertThrows(Exception.class,
                () -> spark(dense).transform(Doors.frame(texts)).collectAsList());
        assertTrue(String.valueOf(e.getMessage()).contains(why), String.valueOf(e.getMessage()));
    }

    private static XlmrSentenceEmbeddings spark(Path dir) {
        return new XlmrSentenceEmbeddings().setModel(dir.toString()).setOutputCol("v");
    }

    private static void assertSpark(List<String> texts, List<float[]> want, List<Row> rows, String where) {
        assertEquals(texts.size(), rows.size(), where);
        for (int i = 0; i < texts.size(); i++) {
            Row r = rows.get(i);
            assertEquals(i, r.getInt(0), where);
            float[] got = Doors.floats(r.get(2));
            if (texts.get(i).isBlank()) {
                assertEquals(0, got.length, where + " #" + i + ": a blank text gives an empty array");
            } else {
                assertClose(want.get(i), got, TOL, where + " #" + i);
            }
        }
    }

    private static List<float[]> cliVectors(Cli r) {
        assertEquals(0, r.code(), r.err());
        List<float[]> out = new ArrayList<>();
        for (JsonNode l : r.lines()) out.add(Doors.floats(l.get("embedding")));
        return out;
    }

    /**
     * The Java API against transformers: sentence-transformers' poolings of expected.json's last hidden states
     * (its masks give the tokens), and the fixture's own sentence_embedding.
     */
    private static void assertReferences(Variant v, EmbeddingPipeline api, List<float[]> got) {
        JsonNode exp = Doors.expected("xlmr-base");
        int at = 0;
        int checked = 0;
        for (JsonNode c : exp.get("cases")) {
            if (c.has("text_pairs")) continue;
            for (int b = 0; b < c.get("texts").size(); b++, at++) {
                JsonNode mask = c.get("attention_mask").get(b);
                int n = 0;
                for (JsonNode m : mask) n += m.asInt();
                if (v.maxSeqLength() > 0 && n > v.maxSeqLength()) continue; // cut by max_seq_length
                String text = c.get("texts").get(b).asText();
                if (v.modes() != null && !text.equals(text.strip())) continue; // sentence-transformers strips it first
                int[] ids = new int[n];
                for (int t = 0; t < n; t++) ids[t] = c.get("input_ids").get(b).get(t).asInt();
                if (!java.util.Arrays.equals(ids, api.tokenizer().encode(text).ids())) {
                    continue; // the references used the slow tokenizer, which differs on trailing whitespace (testdata/README.md)
                }
                float[][] h = new float[n][];
                for (int t = 0; t < n; t++) h[t] = Doors.floats(c.get("last_hidden_state").get(b).get(t));
                List<String> modes = v.modes() == null || v.modes().isEmpty() ? List.of("mean_tokens") : v.modes();
                float[] want = new float[0];
                for (String m : modes) want = concat(want, pool(h, m));
                if (v.normalize()) normalize(want);
                assertClose(want, got.get(at), REF_TOL, v + ": Java API vs transformers, text " + at);
                if (v.modes() != null && v.modes().isEmpty()) {
                    assertClose(Doors.floats(c.get("sentence_embedding").get(b)), got.get(at), REF_TOL,
                            v + ": sentence_embedding of text " + at);
                }
                checked++;
            }
        }
        assertTrue(checked >= 6, v + ": " + checked + " texts checked against the references");
        if (v.modes() == null) assertEquals("mean", api.poolingName(), "a plain folder's default pooling");
    }

    /** sentence-transformers' Pooling of one text's token vectors (every token of the mask). */
    private static float[] pool(float[][] h, String mode) {
        int n = h.length;
        int d = h[0].length;
        float[] out = new float[d];
        for (int j = 0; j < d; j++) {
            double acc = mode.equals("max_tokens") ? Double.NEGATIVE_INFINITY : 0;
            double w = 0;
            for (int t = 0; t < n; t++) {
                switch (mode) {
                    case "max_tokens" -> acc = Math.max(acc, h[t][j]);
                    case "weightedmean_tokens" -> {
                        acc += (t + 1) * (double) h[t][j];
                        w += t + 1;
                    }
                    default -> {
                        acc += h[t][j];
                        w += 1;
                    }
                }
            }
            out[j] = switch (mode) {
                case "cls_token" -> h[0][j];
                case "lasttoken" -> h[n - 1][j];
                case "max_tokens" -> (float) acc;
                default -> (float) (acc / w);
            };
        }
        return out;
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = new float[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static void normalize(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        double norm = Math.max(Math.sqrt(s), 1e-12);
        for (int i = 0; i < v.length; i++) v[i] = (float) (v[i] / norm);
    }
}
