package dev.xlmr.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xlmr.model.ModelOutput;
import dev.xlmr.model.XlmRobertaModel;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.io.IOException;
import java.lang.Character.UnicodeScript;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer end to end on the fixture models: fine-tuning the base fixture to tell the scripts
 * of the tokenizer corpus apart, saving, loading back; resuming; every task's data format; bad data.
 */
class TrainerTest {
    static final Path TESTDATA = Path.of("..", "testdata");
    static final Path BASE = TESTDATA.resolve("xlmr-base");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** The script of a corpus line when nearly all its letters share one (latin, cyrillic, cjk), else null. */
    static String script(String line) {
        int[] counts = new int[3];
        int letters = 0;
        for (int cp : line.codePoints().toArray()) {
            if (!Character.isLetter(cp)) {
                continue;
            }
            letters++;
            UnicodeScript s = UnicodeScript.of(cp);
            switch (s) {
                case LATIN -> counts[0]++;
                case CYRILLIC -> counts[1]++;
                case HAN, HIRAGANA, KATAKANA -> counts[2]++;
                default -> { }
            }
        }
        for (int i = 0; i < 3; i++) {
            if (letters >= 8 && counts[i] >= 0.9 * letters) {
                return List.of("latin", "cyrillic", "cjk").get(i);
            }
        }
        return null;
    }

    /** Rows of {"text", "label"} from the corpus: the first {@code skip + n} lines of each script, last n of them. */
    static List<String[]> corpus(int skip, int n) throws IOException {
        Map<String, List<String>> by = new TreeMap<>();
        for (String line : Files.readAllLines(TESTDATA.resolve("tokenizer/tok_public.txt"))) {
            String s = script(line);
            if (s != null && line.length() < 200) {
                by.computeIfAbsent(s, k -> new ArrayList<>()).add(line);
            }
        }
        List<String[]> rows = new ArrayList<>();
        for (int i = skip; i < skip + n; i++) {
            for (var e : by.entrySet()) {
                rows.add(new String[] {e.getValue().get(i), e.getKey()});
            }
        }
        return rows;
    }

    static Path jsonl(Path file, List<String[]> rows) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String[] r : rows) {
            sb.append(JSON.writeValueAsString(Map.of("text", r[0], "label", r[1]))).append('\n');
        }
        Files.writeString(file, sb);
        return file;
    }

    @Test
    void fineTunesTheBaseFixtureToTellScriptsApartAndTheSavedFolderGivesTheSameLogits() throws IOException {
        Path train = jsonl(tmp.resolve("train.jsonl"), corpus(0, 40));
        List<String[]> held = corpus(40, 20);
        Path valid = jsonl(tmp.resolve("valid.jsonl"), held);
        Path out = tmp.resolve("out");
        TrainOptions o = new TrainOptions().epochs(6).learningRate(1e-2).batchSize(16).warmupRatio(0.1)
                .weightDecay(0.01).maxLength(48).seed(7).loggingSteps(5);
        List<Map<String, Double>> evals = new ArrayList<>();
        Trainer.Result r = new Trainer(BASE, Task.TEXT_CLASSIFICATION, o).train(train, valid, out, new TrainListener() {
            @Override
            public void onEvaluate(int step, Map<String, Double> metrics) {
                evals.add(metrics);
            }
        });
        assertEquals(6, evals.size(), "one evaluation per epoch");
        assertTrue(r.metrics().get("accuracy") > 0.8, "held-out accuracy " + r.metrics() + " (chance 1/3)");
        assertTrue(Files.isDirectory(out.resolve("checkpoint-best")));
        assertTrue(Files.isDirectory(out.resolve("checkpoint-" + r.steps())));

        JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
        assertEquals("XLMRobertaForSequenceClassification", config.get("architectures").get(0).asText());
        assertEquals("cjk", config.get("id2label").get("0").asText());
        assertEquals(2, config.get("label2id").get("latin").asInt());
        assertEquals("single_label_classification", config.get("problem_type").asText());
        assertTrue(Files.isRegularFile(out.resolve("sentencepiece.bpe.model")));
        // the tensors as transformers saved its sequence-classification fixture: names, shapes, dtypes
        assertEquals(header(TESTDATA.resolve("xlmr-seqcls/model.safetensors")), header(out.resolve("model.safetensors")));

        // the saved folder, loaded by the inference model, gives the in-memory model's logits
        XlmRobertaTokenizer tok = XlmRobertaTokenizer.load(out);
        int rightInMemory = 0;
        try (XlmRobertaModel loaded = XlmRobertaModel.load(out)) {
            for (String[] row : held.subList(0, 12)) {
                int[] ids = tok.encode(row[0], null, dev.xlmr.tokenizer.EncodeOptions.defaults().maxLength(48)
                        .truncation(dev.xlmr.tokenizer.EncodeOptions.Truncation.LONGEST_FIRST)).ids();
                int[][] mask = {new int[ids.length]};
                java.util.Arrays.fill(mask[0], 1);
                Var mine = r.model().logits(new Tape(), new TrainBatch(new int[][] {ids}, mask, null, 0, null, true, null, null), null);
                ModelOutput got = loaded.forward(new int[][] {ids}, mask, null);
                for (int k = 0; k < 3; k++) {
                    assertEquals(mine.data[k], got.get("logits").get(0, k), 1e-4, "logit " + k + " of '" + row[0] + "'");
                }
                int arg = mine.data[0] > mine.data[1] ? (mine.data[0] > mine.data[2] ? 0 : 2) : (mine.data[1] > mine.data[2] ? 1 : 2);
                rightInMemory += config.get("id2label").get(String.valueOf(arg)).asText().equals(row[1]) ? 1 : 0;
            }
        }
        assertTrue(rightInMemory >= 9, rightInMemory + " of 12 held-out rows right");
    }

    /** {name: [dtype, shape]} of a safetensors file. */
    static Map<String, String> header(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(len, 0);
            ByteBuffer h = ByteBuffer.allocate((int) len.flip().getLong());
            ch.read(h, 8);
            JsonNode n = JSON.readTree(new String(h.array(), java.nio.charset.StandardCharsets.UTF_8));
            Map<String, String> out = new TreeMap<>();
            n.properties().forEach(e -> {
                if (!e.getKey().equals("__metadata__")) {
                    out.put(e.getKey(), e.getValue().get("dtype").asText() + e.getValue().get("shape"));
                }
            });
            return out;
        }
    }

    @Test
    void resumingFromACheckpointEndsWhereAnUnbrokenRunEnds() throws IOException {
        Path train = jsonl(tmp.resolve("train.jsonl"), corpus(0, 8));
        TrainOptions o = new TrainOptions().maxSteps(4).batchSize(4).learningRate(1e-3).saveSteps(2).maxLength(24)
                .gradientAccumulation(2).warmupSteps(1);
        Trainer.Result whole = new Trainer(BASE, Task.TEXT_CLASSIFICATION, o).train(train, null, tmp.resolve("a"), null);
        Trainer.Result resumed = new Trainer(BASE, Task.TEXT_CLASSIFICATION, o).resumeFrom(tmp.resolve("a/checkpoint-2"))
                .train(train, null, tmp.resolve("b"), null);
        assertEquals(4, resumed.steps());
        for (var e : whole.model().parameters().all().entrySet()) {
            assertArrayEquals(e.getValue().data, resumed.model().parameters().get(e.getKey()).data, e.getKey());
        }
        // resuming the latest checkpoint of a finished run has nothing left to do
        Trainer.Result again = new Trainer(BASE, Task.TEXT_CLASSIFICATION, o).resumeLatest().train(train, null, tmp.resolve("a"), null);
        assertEquals(4, again.steps());
    }

    @Test
    void everyTaskTrainsFromItsDataFormatsAndSavesWhatTransformersSaves() throws IOException {
        TrainOptions o = new TrainOptions().maxSteps(2).batchSize(2).learningRate(1e-3).maxLength(40).docStride(8);
        // token classification: JSON lines and CoNLL-2003
        Path ner = Files.writeString(tmp.resolve("ner.jsonl"), """
                {"tokens": ["Anna", "lives", "in", "Berlin"], "ner_tags": ["B-PER", "O", "O", "B-LOC"]}
                {"tokens": ["Jan", "Kowalski", "visited", "New", "York"], "ner_tags": ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"]}
                """);
        Path conll = Files.writeString(tmp.resolve("ner.conll"), """
                -DOCSTART- -X- -X- O

                Anna NNP B-NP B-PER
                lives VBZ B-VP O
                in IN B-PP O
                Berlin NNP B-NP B-LOC

                Jan NNP B-NP B-PER
                Kowalski NNP I-NP I-PER
                """);
        for (Path f : List.of(ner, conll)) {
            Trainer.Result r = new Trainer(BASE, Task.TOKEN_CLASSIFICATION, o).train(f, f, tmp.resolve("ner-" + f.getFileName()), null);
            assertTrue(r.metrics().containsKey("f1"), r.metrics().toString());
            assertEquals(header(TESTDATA.resolve("xlmr-tokcls/model.safetensors")).keySet(), header(r.out().resolve("model.safetensors")).keySet());
            assertEquals("B-LOC", JSON.readTree(r.out().resolve("config.json").toFile()).get("id2label").get("0").asText());
            XlmRobertaModel.load(r.out()).close();
        }
        // the first piece of each word carries its tag, the others -100
        XlmRobertaTokenizer tok = XlmRobertaTokenizer.load(BASE);
        TaskData d = TaskData.load(Task.TOKEN_CLASSIFICATION, ner, tok, o, null, null);
        int[] ids = d.features.get(1).ids()[0];
        double[] lab = d.features.get(1).labels();
        List<Integer> expect = new ArrayList<>(List.of(0));
        List<Double> expectLab = new ArrayList<>(List.of(-100.0));
        String[] words = {"Jan", "Kowalski", "visited", "New", "York"};
        double[] tags = {1, 3, 4, 0, 2}; // ids in sorted order: B-LOC B-PER I-LOC I-PER O
        for (int w = 0; w < words.length; w++) {
            int[] p = tok.encode(words[w], null, dev.xlmr.tokenizer.EncodeOptions.defaults().addSpecialTokens(false)).ids();
            for (int i = 0; i < p.length; i++) {
                expect.add(p[i]);
                expectLab.add(i == 0 ? tags[w] : -100.0);
            }
        }
        expect.add(2);
        expectLab.add(-100.0);
        assertArrayEquals(expect.stream().mapToInt(Integer::intValue).toArray(), ids);
        assertArrayEquals(expectLab.stream().mapToDouble(Double::doubleValue).toArray(), lab);

        // question answering: SQuAD v2 JSON (a long context cut into windows) and JSON lines
        String ctx = "The manual page of ls lists directory contents. It was written by Richard Stallman and David MacKenzie for the GNU project.";
        Path squad = Files.writeString(tmp.resolve("squad.json"), JSON.writeValueAsString(Map.of("version", "v2.0", "data", List.of(
                Map.of("title", "ls", "paragraphs", List.of(Map.of("context", ctx, "qas", List.of(
                        Map.of("id", "1", "question", "Who wrote it?", "answers",
                                List.of(Map.of("text", "Richard Stallman", "answer_start", ctx.indexOf("Richard")))),
                        Map.of("id", "2", "question", "What is the price?", "answers", List.of(), "is_impossible", true)))))))));
        TaskData qa = TaskData.load(Task.QUESTION_ANSWERING, squad, tok, new TrainOptions().maxLength(24).docStride(8), null, null);
        assertTrue(qa.size() > 2, "the long context is cut into windows: " + qa.size());
        boolean found = false;
        for (TaskData.Feature f : qa.features) {
            if (f.example() == 0 && f.start() > 0) {
                found = true;
                // a piece's offsets include its leading space (▁), as the fast tokenizer's do
                assertEquals(" Richard Stallman", ctx.substring(f.ctxStart()[f.start()], f.ctxEnd()[f.end()]));
            }
            if (f.example() == 1) {
                assertEquals(0, f.start(), "no answer points at <s>");
            }
        }
        assertTrue(found, "a window holds the answer");
        Path qaLines = Files.writeString(tmp.resolve("qa.jsonl"), JSON.writeValueAsString(Map.of("question", "Who wrote it?",
                "context", ctx, "answers", Map.of("text", List.of("David MacKenzie"), "answer_start", List.of(ctx.indexOf("David"))))) + "\n");
        for (Path f : List.of(squad, qaLines)) {
            Trainer.Result r = new Trainer(BASE, Task.QUESTION_ANSWERING, o).train(f, f, tmp.resolve("qa-" + f.getFileName()), null);
            assertTrue(r.metrics().containsKey("exact_match"), r.metrics().toString());
            assertEquals(header(TESTDATA.resolve("xlmr-qa/model.safetensors")).keySet(), header(r.out().resolve("model.safetensors")).keySet());
        }

        // fill-mask: text lines; the decoder stays tied to the word embeddings (not saved)
        Path text = Files.writeString(tmp.resolve("lines.txt"), "ls lists directory contents\n\nman formats manual pages\n");
        Trainer.Result mlm = new Trainer(TESTDATA.resolve("xlmr-mlm"), Task.FILL_MASK, new TrainOptions().maxSteps(2)
                .batchSize(2).mlmProbability(0.5)).train(text, text, tmp.resolve("mlm"), null);
        assertTrue(mlm.metrics().containsKey("perplexity"), mlm.metrics().toString());
        assertEquals(header(TESTDATA.resolve("xlmr-mlm/model.safetensors")), header(mlm.out().resolve("model.safetensors")));

        // multiple choice: JSON lines
        Path mc = Files.writeString(tmp.resolve("mc.jsonl"), """
                {"question": "Which command lists files?", "choices": ["ls", "cat", "kill"], "label": 0}
                {"question": "Which command ends a process?", "choices": ["ls", "cat", "kill"], "label": 2}
                """);
        Trainer.Result r = new Trainer(BASE, Task.MULTIPLE_CHOICE, o).train(mc, mc, tmp.resolve("mc"), null);
        assertTrue(r.metrics().containsKey("accuracy"));
        assertEquals(header(TESTDATA.resolve("xlmr-mc/model.safetensors")).keySet(), header(r.out().resolve("model.safetensors")).keySet());

        // CSV text classification with pairs
        Path csv = Files.writeString(tmp.resolve("pairs.csv"), "text,text_pair,label\n\"ls, the lister\",lists files,yes\nkill,formats pages,no\n");
        TaskData c = TaskData.load(Task.TEXT_CLASSIFICATION, csv, tok, o, null, null);
        assertEquals(List.of("no", "yes"), c.labels());
        assertArrayEquals(tok.encode("ls, the lister", "lists files").ids(), c.features.get(0).ids()[0]);
    }

    @Test
    void badDataFailsWithTheFileAndLine() throws IOException {
        XlmRobertaTokenizer tok = XlmRobertaTokenizer.load(BASE);
        TrainOptions o = new TrainOptions();
        Path f = Files.writeString(tmp.resolve("bad.jsonl"), "{\"text\": \"a\", \"label\": \"x\"}\n\n{\"text\": \"b\"\n");
        assertEquals(f + ":3: not valid JSON: Unexpected end-of-input: expected close marker for Object (start marker at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 1])",
                assertThrows(DataException.class, () -> TaskData.load(Task.TEXT_CLASSIFICATION, f, tok, o, null, null)).getMessage());
        Path g = Files.writeString(tmp.resolve("nolabel.jsonl"), "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\"}\n");
        assertEquals(g + ":2: missing \"label\"", assertThrows(DataException.class,
                () -> TaskData.load(Task.TEXT_CLASSIFICATION, g, tok, o, null, null)).getMessage());
        Path v = Files.writeString(tmp.resolve("valid.jsonl"), "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": \"z\"}\n");
        assertEquals(v + ":2: unknown label 'z' (the labels are [x, y])", assertThrows(DataException.class,
                () -> TaskData.load(Task.TEXT_CLASSIFICATION, v, tok, o, List.of("x", "y"), null)).getMessage());
        Path t = Files.writeString(tmp.resolve("ner.jsonl"), "{\"tokens\": [\"a\", \"b\"], \"ner_tags\": [\"O\"]}\n");
        assertEquals(t + ":1: tokens and ner_tags differ in length (2 and 1)", assertThrows(DataException.class,
                () -> TaskData.load(Task.TOKEN_CLASSIFICATION, t, tok, o, null, null)).getMessage());
        Path q = Files.writeString(tmp.resolve("qa.jsonl"), "{\"question\": \"q\", \"context\": \"some text\", "
                + "\"answers\": {\"text\": [\"other\"], \"answer_start\": [2]}}\n");
        assertEquals(q + ":1: answer 'other' is not in the context at 2", assertThrows(DataException.class,
                () -> TaskData.load(Task.QUESTION_ANSWERING, q, tok, o, null, null)).getMessage());
        Path e = Files.writeString(tmp.resolve("empty.jsonl"), "\n  \n");
        assertEquals(e + ": the file is empty", assertThrows(DataException.class,
                () -> TaskData.load(Task.TEXT_CLASSIFICATION, e, tok, o, null, null)).getMessage());
        Path csv = Files.writeString(tmp.resolve("bad.csv"), "text,label\na,x\nb,y,extra\n");
        assertEquals(csv + ":3: has 3 fields, the header has 2", assertThrows(DataException.class,
                () -> TaskData.load(Task.TEXT_CLASSIFICATION, csv, tok, o, null, null)).getMessage());
        Path conll = Files.writeString(tmp.resolve("bad.conll"), "Anna B-PER\nlives\n");
        assertEquals(conll + ":2: a CoNLL line needs a word and a tag, got 'lives'", assertThrows(DataException.class,
                () -> TaskData.load(Task.TOKEN_CLASSIFICATION, conll, tok, o, null, null)).getMessage());
        assertEquals(tmp.resolve("none.jsonl") + ": no such file", assertThrows(DataException.class,
                () -> TaskData.load(Task.TEXT_CLASSIFICATION, tmp.resolve("none.jsonl"), tok, o, null, null)).getMessage());
    }
}
