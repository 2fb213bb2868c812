package dev.xlmr.pipelines;

import static dev.xlmr.pipelines.Fixtures.close;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.model.Batch;
import dev.xlmr.model.Encoder;
import dev.xlmr.model.ModelConfig;
import dev.xlmr.model.ModelOutput;
import dev.xlmr.model.NdArray;
import dev.xlmr.model.XlmRobertaModel;
import dev.xlmr.pipelines.QuestionAnsweringPipeline.Answer;
import dev.xlmr.pipelines.QuestionAnsweringPipeline.Options;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** QA, multiple choice, rerank and similarity against values computed here from raw model outputs. */
class OtherTasksTest {
    static final String QUESTION = "Where is the file?";
    static final String CONTEXT = "The file is in the home directory of the user.";

    static double[] softmaxOver(float[] logits, boolean[] keep) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            if (keep[i]) {
                max = Math.max(max, logits[i]);
            }
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = keep[i] ? Math.exp(logits[i] - max) : 0;
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    @Test
    void questionAnsweringBestSpanFromRawLogits() {
        Encoder model = XlmRobertaModel.load(Fixtures.dir("xlmr-qa"));
        XlmRobertaTokenizer tok = XlmRobertaTokenizer.load(Fixtures.dir("xlmr-qa"));
        try (QuestionAnsweringPipeline qa = new QuestionAnsweringPipeline(model, tok)) {
            Encoding e = tok.encode(QUESTION, CONTEXT);
            ModelOutput out = model.forward(Batch.of(new int[][] {e.ids()}, null, null));
            float[] sl = out.get("start_logits").data();
            float[] el = out.get("end_logits").data();
            boolean[] ctx = new boolean[e.length()];
            ctx[0] = true; // <s> takes part in the softmax ("no answer")
            for (int t = 0; t < e.length(); t++) {
                ctx[t] |= e.sequenceIds()[t] == 1;
            }
            double[] ps = softmaxOver(sl, ctx);
            double[] pe = softmaxOver(el, ctx);
            double nullScore = ps[0] * pe[0];
            // every span of context tokens up to 15 tokens, by hand
            List<double[]> spans = new ArrayList<>();
            for (int s = 1; s < e.length(); s++) {
                for (int t = s; t < Math.min(e.length(), s + 15); t++) {
                    if (e.sequenceIds()[s] == 1 && e.sequenceIds()[t] == 1) {
                        spans.add(new double[] {ps[s] * pe[t], s, t});
                    }
                }
            }
            spans.sort((a, b) -> Double.compare(b[0], a[0]));

            List<Answer> top = qa.answer(QUESTION, CONTEXT, Options.defaults().topK(3));
            assertEquals(3, top.size());
            for (int k = 0; k < 3; k++) {
                Answer a = top.get(k);
                close(spans.get(k)[0], a.score(), "answer " + k);
                // words widened: the first token's word start, the last token's word end
                int s = (int) spans.get(k)[1];
                int t = (int) spans.get(k)[2];
                assertEquals(wordStart(e, s), a.start(), "answer " + k);
                assertEquals(wordEnd(e, t), a.end(), "answer " + k);
                assertEquals(CONTEXT.substring(a.start(), a.end()), a.answer());
            }
            // no word alignment: the token offsets
            Answer raw = qa.answer(QUESTION, CONTEXT, Options.defaults().alignToWords(false)).get(0);
            assertEquals(e.starts()[(int) spans.get(0)[1]], raw.start());
            assertEquals(e.ends()[(int) spans.get(0)[2]], raw.end());
            // max_answer_len 1: single tokens only
            Answer one = qa.answer(QUESTION, CONTEXT, Options.defaults().maxAnswerLen(1).alignToWords(false)).get(0);
            double best = 0;
            for (int s = 0; s < e.length(); s++) {
                if (e.sequenceIds()[s] == 1) {
                    best = Math.max(best, ps[s] * pe[s]);
                }
            }
            close(best, one.score(), "single-token answer");
            // handle_impossible_answer: the null answer joins the candidates
            List<Answer> withNull = qa.answer(QUESTION, CONTEXT, Options.defaults().topK(100).handleImpossibleAnswer(true));
            Answer nul = withNull.stream().filter(a -> a.answer().isEmpty() && a.start() == 0).findFirst().orElseThrow();
            close(nullScore, nul.score(), "null score");
            for (int k = 1; k < withNull.size(); k++) {
                assertTrue(withNull.get(k - 1).score() >= withNull.get(k).score());
            }
            Map<String, Object> m = top.get(0).toMap(CONTEXT);
            assertEquals(List.of("score", "start", "end", "answer"), List.copyOf(m.keySet()));

            assertThrows(IllegalArgumentException.class, () -> qa.answer("", CONTEXT));
            assertThrows(IllegalArgumentException.class, () -> qa.answer(QUESTION, " "));
            assertThrows(IllegalArgumentException.class, () -> Options.defaults().topK(0));
        }
    }

    static int wordStart(Encoding e, int t) {
        int s = e.starts()[t];
        for (int i = 0; i < e.length(); i++) {
            if (e.sequenceIds()[i] == 1 && e.wordIds()[i] == e.wordIds()[t]) {
                s = Math.min(s, e.starts()[i]);
            }
        }
        return s;
    }

    static int wordEnd(Encoding e, int t) {
        int s = e.ends()[t];
        for (int i = 0; i < e.length(); i++) {
            if (e.sequenceIds()[i] == 1 && e.wordIds()[i] == e.wordIds()[t]) {
                s = Math.max(s, e.ends()[i]);
            }
        }
        return s;
    }

    @Test
    void questionAnsweringWindowsCoverLongContexts() {
        try (QuestionAnsweringPipeline qa = QuestionAnsweringPipeline.load(Fixtures.dir("xlmr-qa").toString())) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 30; i++) {
                sb.append("Die Datei ").append(i).append(" liegt im Heimatverzeichnis des Benutzers. ");
            }
            String context = sb.toString();
            Options o = Options.defaults().topK(5);
            List<Encoding> windows = qa.windows(QUESTION, context, o);
            assertTrue(windows.size() > 1, "a long context needs several windows");
            // defaults as transformers: max_seq_len = min(model max 128, 384), doc_stride = 64
            TreeSet<Integer> covered = new TreeSet<>();
            for (Encoding w : windows) {
                assertTrue(w.length() <= 128);
                for (int t = 0; t < w.length(); t++) {
                    if (w.sequenceIds()[t] == 1) {
                        covered.add(w.starts()[t]);
                    }
                }
            }
            Encoding whole = XlmRobertaTokenizer.load(Fixtures.dir("xlmr-qa")).encode(context);
            TreeSet<Integer> all = new TreeSet<>();
            for (int t = 1; t < whole.length() - 1; t++) {
                all.add(whole.starts()[t]);
            }
            assertEquals(all, covered);
            // consecutive windows overlap by doc_stride tokens
            Encoding w0 = windows.get(0);
            Encoding w1 = windows.get(1);
            int lastOf0 = w0.starts()[w0.length() - 2];
            int overlap = 0;
            for (int t = 0; t < w1.length(); t++) {
                if (w1.sequenceIds()[t] == 1 && w1.starts()[t] <= lastOf0) {
                    overlap++;
                }
            }
            assertEquals(64, overlap);
            List<Answer> answers = qa.answer(QUESTION, context, o);
            assertEquals(5, answers.size());
            for (int k = 0; k < answers.size(); k++) {
                Answer a = answers.get(k);
                assertEquals(context.substring(a.start(), a.end()), a.answer());
                if (k > 0) {
                    assertTrue(answers.get(k - 1).score() >= a.score());
                }
            }
            // smaller windows still cover; every answer is a substring
            List<Answer> small = qa.answer(QUESTION, context, o.maxSeqLen(24).docStride(4));
            for (Answer a : small) {
                assertEquals(context.substring(a.start(), a.end()), a.answer());
            }
            assertThrows(IllegalArgumentException.class, () -> qa.answer(QUESTION, context, o.maxSeqLen(24).docStride(30)));
        }
    }

    @Test
    void multipleChoiceScoresAreTheSoftmaxOfTheFixtureLogits() {
        try (MultipleChoicePipeline mc = MultipleChoicePipeline.load(Fixtures.dir("xlmr-mc").toString())) {
            for (JsonNode c : Fixtures.expected("xlmr-mc").get("cases")) {
                List<String> choices = new ArrayList<>();
                c.get("choices").forEach(x -> choices.add(x.asText()));
                String q = c.get("question").asText();
                List<Encoding> encs = mc.encode(q, choices);
                for (int k = 0; k < choices.size(); k++) {
                    JsonNode ids = c.get("input_ids").get(k);
                    int[] exp = new int[encs.get(k).length()];
                    for (int t = 0; t < exp.length; t++) {
                        exp[t] = ids.get(t).asInt();
                    }
                    assertArrayEquals(exp, encs.get(k).ids(), "the (question, choice) pair as the fixture encodes it");
                }
                JsonNode logits = c.get("logits").get(0);
                double max = Double.NEGATIVE_INFINITY;
                for (JsonNode l : logits) {
                    max = Math.max(max, l.asDouble());
                }
                double sum = 0;
                for (JsonNode l : logits) {
                    sum += Math.exp(l.asDouble() - max);
                }
                List<MultipleChoicePipeline.Choice> got = mc.choose(q, choices);
                assertEquals(choices.size(), got.size());
                for (MultipleChoicePipeline.Choice ch : got) {
                    close(Math.exp(logits.get(ch.index()).asDouble() - max) / sum, ch.score(), q);
                    assertEquals(choices.get(ch.index()), ch.choice());
                }
                assertTrue(got.get(0).score() >= got.get(1).score());
            }
            assertThrows(IllegalArgumentException.class, () -> mc.choose("q", List.of()));
        }
    }

    /** The seqcls fixture seen as a one-label cross-encoder: only its first logit. */
    static final class OneLabel implements Encoder {
        final XlmRobertaModel inner;
        final ModelConfig config;

        OneLabel(XlmRobertaModel inner) {
            this.inner = inner;
            ModelConfig c = inner.config();
            this.config = new ModelConfig(c.modelType(), c.architecture(), c.head(), c.vocabSize(), c.hiddenSize(),
                    c.numHiddenLayers(), c.numAttentionHeads(), c.intermediateSize(), c.hiddenAct(), c.layerNormEps(),
                    c.padTokenId(), c.maxPositionEmbeddings(), c.typeVocabSize(), c.isDecoder(), 1,
                    Map.of(0, "LABEL_0"), Map.of("LABEL_0", 0), null, c.tieWordEmbeddings());
        }

        @Override
        public ModelConfig config() {
            return config;
        }

        @Override
        public ModelOutput forward(Batch batch) {
            NdArray l = inner.forward(batch).get("logits");
            float[] first = new float[l.dim(0)];
            for (int i = 0; i < first.length; i++) {
                first[i] = l.get(i, 0);
            }
            return new ModelOutput(Map.of("logits", new NdArray(new int[] {first.length, 1}, first)));
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    @Test
    void rerankIsTheSigmoidOfTheCrossEncoderLogit() throws Exception {
        XlmRobertaTokenizer tok = XlmRobertaTokenizer.load(Fixtures.dir("xlmr-seqcls"));
        try (OneLabel enc = new OneLabel(XlmRobertaModel.load(Fixtures.dir("xlmr-seqcls")))) {
            RerankPipeline rr = new RerankPipeline(enc, tok);
            List<String> texts = List.of(CONTEXT, "Die Datei liegt im Heimatverzeichnis.", "Hello world!", "x");
            double[] expected = new double[texts.size()];
            for (int i = 0; i < texts.size(); i++) {
                Encoding e = tok.encode(QUESTION, texts.get(i));
                float logit = enc.inner.forward(Batch.of(new int[][] {e.ids()}, null, null)).get("logits").get(0, 0);
                expected[i] = 1 / (1 + Math.exp(-logit));
            }
            List<RerankPipeline.Ranked> ranked = rr.rerank(QUESTION, texts);
            assertEquals(texts.size(), ranked.size());
            for (int k = 0; k < ranked.size(); k++) {
                RerankPipeline.Ranked r = ranked.get(k);
                close(expected[r.corpusId()], r.score(), r.text());
                assertEquals(texts.get(r.corpusId()), r.text());
                if (k > 0) {
                    assertTrue(ranked.get(k - 1).score() >= r.score());
                }
            }
            assertEquals(2, rr.rerank(QUESTION, texts, 2).size());
            // thread-safe: the same results from several threads at once
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<List<RerankPipeline.Ranked>>> fs = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    fs.add(pool.submit(() -> rr.rerank(QUESTION, texts)));
                }
                for (Future<List<RerankPipeline.Ranked>> f : fs) {
                    assertEquals(ranked, f.get());
                }
            } finally {
                pool.shutdown();
            }
        }
        // three labels are not a relevance score
        try (XlmRobertaModel three = XlmRobertaModel.load(Fixtures.dir("xlmr-seqcls"))) {
            assertThrows(IllegalArgumentException.class, () -> new RerankPipeline(three, tok));
        }
    }

    @Test
    void similarityIsTheCosineOfTheSentenceEmbeddings() {
        JsonNode c = Fixtures.expected("xlmr-base").get("cases").get(0);
        List<String> texts = new ArrayList<>();
        c.get("texts").forEach(t -> texts.add(t.asText()));
        JsonNode emb = c.get("sentence_embedding");
        try (EmbeddingPipeline embed = EmbeddingPipeline.load(Fixtures.dir("xlmr-base").toString())) {
            for (int i = 1; i < texts.size(); i++) {
                double dot = 0;
                for (int j = 0; j < emb.get(0).size(); j++) {
                    dot += emb.get(0).get(j).asDouble() * emb.get(i).get(j).asDouble();
                }
                close(dot, embed.similarity(texts.get(0), texts.get(i)), texts.get(i));
            }
            close(1.0, embed.similarity("Hello world!", "Hello world!"), "self");
        }
    }

    @Test
    void embeddingPoolingsFromTheHiddenStates() {
        JsonNode c = Fixtures.expected("xlmr-base").get("cases").get(0);
        String text = c.get("texts").get(0).asText();
        JsonNode hidden = c.get("last_hidden_state").get(0);
        int n = 0;
        for (JsonNode m : c.get("attention_mask").get(0)) {
            n += m.asInt();
        }
        int d = hidden.get(0).size();
        try (EmbeddingPipeline embed = EmbeddingPipeline.load(Fixtures.dir("xlmr-base").toString())) {
            EmbeddingPipeline.Options o = EmbeddingPipeline.Options.defaults();
            float[] cls = embed.embed(text, o.pooling(EmbeddingPipeline.Pooling.CLS));
            float[] max = embed.embed(text, o.pooling(EmbeddingPipeline.Pooling.MAX));
            float[] mean = embed.embed(text, o.pooling(EmbeddingPipeline.Pooling.MEAN));
            float[] sqrt = embed.embed(text, o.pooling(EmbeddingPipeline.Pooling.MEAN_SQRT_LEN));
            float[] pooler = embed.embed(text, o.pooling(EmbeddingPipeline.Pooling.POOLER));
            float[][] tokens = embed.tokenEmbeddings(List.of(text), o).get(0);
            assertEquals(n, tokens.length);
            for (int j = 0; j < d; j++) {
                double mx = Double.NEGATIVE_INFINITY;
                double sum = 0;
                for (int t = 0; t < n; t++) {
                    double v = hidden.get(t).get(j).asDouble();
                    mx = Math.max(mx, v);
                    sum += v;
                    assertEquals(v, tokens[t][j], 1e-4);
                }
                assertEquals(hidden.get(0).get(j).asDouble(), cls[j], 1e-4);
                assertEquals(mx, max[j], 1e-4);
                assertEquals(sum / n, mean[j], 1e-4);
                assertEquals(sum / Math.sqrt(n), sqrt[j], 1e-4);
                assertEquals(c.get("pooler_output").get(0).get(j).asDouble(), pooler[j], 1e-4);
            }
            // --normalize on an explicit pooling: unit length
            float[] unit = embed.embed(text, o.pooling(EmbeddingPipeline.Pooling.MEAN).normalize(true));
            double norm = 0;
            for (float v : unit) {
                norm += v * v;
            }
            close(1.0, norm, "unit norm");
            assertThrows(IllegalArgumentException.class, () -> embed.embed(text, o.promptName("query")));
            assertThrows(IllegalArgumentException.class, () -> EmbeddingPipeline.Pooling.parse("median"));
        }
    }
}
