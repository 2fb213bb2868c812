package dev.xlmr.pipelines;

import dev.xlmr.model.Encoder;
import dev.xlmr.model.Head;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Extractive question answering, as transformers' {@code pipeline("question-answering")} with a fast
 * tokenizer (4.27): the context is cut into windows of {@code maxSeqLen} tokens overlapping by
 * {@code docStride} (the tokenizer's only_second truncation with overflow), start and end logits are
 * softmaxed over the context tokens of each window (question and special tokens masked, {@code <s>}
 * kept for "no answer"), spans up to {@code maxAnswerLen} tokens are scored start × end and mapped
 * back to characters, widened to whole words.
 *
 * <pre>{@code
 * try (QuestionAnsweringPipeline qa = QuestionAnsweringPipeline.load("deepset/xlm-roberta-base-squad2")) {
 *     QuestionAnsweringPipeline.Answer a = qa.answer("Where is the file?",
 *             "The file is in the home directory of the user.").get(0);
 *     a.answer();   // " the home directory" (context.substring(a.start(), a.end()))
 * }
 * }</pre>
 *
 * Offsets are UTF-16 indices into the context; {@link Answer#toMap(String)} gives the code point
 * offsets Python reports. Like transformers' word alignment for XLM-R, an answer starting after a
 * space includes that space.
 */
public final class QuestionAnsweringPipeline extends Pipeline {

    /**
     * transformers' parameters.
     *
     * @param topK                   answers to return (best first)
     * @param docStride              overlap of the context windows in tokens; -1: min(maxSeqLen / 2, 128)
     * @param maxSeqLen              tokens per window (question and special tokens included); -1:
     *                               min(the model's maximum, 384)
     * @param maxQuestionLen         the question is cut to this many tokens
     * @param maxAnswerLen           longest answer in tokens
     * @param handleImpossibleAnswer also consider "no answer" (start = end = 0, answer "")
     * @param alignToWords           widen answers to whole words
     */
    public record Options(int topK, int docStride, int maxSeqLen, int maxQuestionLen, int maxAnswerLen,
                          boolean handleImpossibleAnswer, boolean alignToWords) {
        public Options {
            checkTopK(topK);
            if (maxAnswerLen < 1) {
                throw new IllegalArgumentException("max_answer_len must be at least 1, got " + maxAnswerLen);
            }
            if (maxQuestionLen < 1) {
                throw new IllegalArgumentException("max_question_len must be at least 1, got " + maxQuestionLen);
            }
            if (docStride < -1 || maxSeqLen < -1 || maxSeqLen == 0) {
                throw new IllegalArgumentException("doc_stride must be >= 0 and max_seq_len >= 1");
            }
        }

        /** transformers' defaults: top_k 1, max_answer_len 15, max_question_len 64, automatic windows. */
        public static Options defaults() {
            return new Options(1, -1, -1, 64, 15, false, true);
        }

        public Options topK(int k) {
            return new Options(k, docStride, maxSeqLen, maxQuestionLen, maxAnswerLen, handleImpossibleAnswer, alignToWords);
        }

        public Options docStride(int s) {
            return new Options(topK, s, maxSeqLen, maxQuestionLen, maxAnswerLen, handleImpossibleAnswer, alignToWords);
        }

        public Options maxSeqLen(int n) {
            return new Options(topK, docStride, n, maxQuestionLen, maxAnswerLen, handleImpossibleAnswer, alignToWords);
        }

        public Options maxQuestionLen(int n) {
            return new Options(topK, docStride, maxSeqLen, n, maxAnswerLen, handleImpossibleAnswer, alignToWords);
        }

        public Options maxAnswerLen(int n) {
            return new Options(topK, docStride, maxSeqLen, maxQuestionLen, n, handleImpossibleAnswer, alignToWords);
        }

        public Options handleImpossibleAnswer(boolean h) {
            return new Options(topK, docStride, maxSeqLen, maxQuestionLen, maxAnswerLen, h, alignToWords);
        }

        public Options alignToWords(boolean a) {
            return new Options(topK, docStride, maxSeqLen, maxQuestionLen, maxAnswerLen, handleImpossibleAnswer, a);
        }
    }

    /**
     * An answer: {@code context.substring(start, end)} is {@code answer}.
     *
     * @param score probability of the span (start × end)
     * @param start UTF-16 start in the context
     * @param end   UTF-16 end in the context
     */
    public record Answer(double score, int start, int end, String answer) {
        /** The transformers JSON object with code point offsets: score, start, end, answer. */
        public Map<String, Object> toMap(String context) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("score", score);
            m.put("start", context.codePointCount(0, start));
            m.put("end", context.codePointCount(0, end));
            m.put("answer", answer);
            return m;
        }
    }

    private final int clsId;

    /** A pipeline on a question-answering encoder (left open by {@link #close()}). */
    public QuestionAnsweringPipeline(Encoder encoder, XlmRobertaTokenizer tokenizer) {
        this(source(encoder, tokenizer));
    }

    private QuestionAnsweringPipeline(Source s) {
        super(s);
        requireHead(Head.QUESTION_ANSWERING);
        clsId = tokenizer.tokenToId("<s>");
    }

    /** Loads a model folder or hub id (revision {@code main}). */
    public static QuestionAnsweringPipeline load(String modelOrPath) {
        return load(modelOrPath, null);
    }

    /** Loads a model folder or hub id at a revision. */
    public static QuestionAnsweringPipeline load(String modelOrPath, String revision) {
        return build(modelOrPath, revision, QuestionAnsweringPipeline::new);
    }

    /** The best answer (default options), in a list of one. */
    public List<Answer> answer(String question, String context) {
        return answer(question, context, Options.defaults());
    }

    /** The best answers, best first (at most top_k; fewer when fewer spans qualify). */
    public List<Answer> answer(String question, String context, Options options) {
        return answerAll(List.of(question), List.of(context), options).get(0);
    }

    /** The windows of one question and context as the pipeline runs them. */
    public List<Encoding> windows(String question, String context, Options options) {
        int maxSeqLen = options.maxSeqLen() > 0 ? Math.min(options.maxSeqLen(), maxLength()) : Math.min(maxLength(), 384);
        int stride = options.docStride() >= 0 ? options.docStride() : Math.min(maxSeqLen / 2, 128);
        if (stride > maxSeqLen) {
            throw new IllegalArgumentException("doc_stride (" + stride + ") is larger than max_seq_len (" + maxSeqLen + ")");
        }
        if (question == null || question.isBlank()) {
            throw new IllegalArgumentException("the question must not be empty");
        }
        if (context == null || context.isBlank()) {
            throw new IllegalArgumentException("the context must not be empty");
        }
        String q = cutQuestion(question, options.maxQuestionLen());
        Encoding e = tokenizer.encode(q, context, EncodeOptions.defaults().maxLength(maxSeqLen)
                .truncation(EncodeOptions.Truncation.ONLY_SECOND).stride(stride));
        List<Encoding> out = new ArrayList<>();
        out.add(e);
        out.addAll(e.overflowing());
        return out;
    }

    /** The question up to the end of its {@code max}-th token. */
    private String cutQuestion(String question, int max) {
        Encoding q = tokenizer.encode(question, null, EncodeOptions.defaults().addSpecialTokens(false));
        if (q.length() <= max) {
            return question;
        }
        warn("question longer than " + max + " tokens; cut to " + max);
        return question.substring(0, q.ends()[max - 1]);
    }

    /** Batched: the answers of each (question, context) pair. */
    public List<List<Answer>> answerAll(List<String> questions, List<String> contexts, Options options) {
        if (questions.size() != contexts.size()) {
            throw new IllegalArgumentException(questions.size() + " questions but " + contexts.size() + " contexts");
        }
        List<Encoding> windows = new ArrayList<>();
        List<Integer> owner = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            for (Encoding w : windows(questions.get(i), contexts.get(i), options)) {
                windows.add(w);
                owner.add(i);
            }
        }
        float[][] starts = new float[windows.size()][];
        float[][] ends = new float[windows.size()][];
        forEachRow(windows, (w, row) -> {
            starts[w] = row.positions("start_logits");
            ends[w] = row.positions("end_logits");
        });
        List<List<Answer>> candidates = new ArrayList<>();
        double[] minNull = new double[questions.size()];
        for (int i = 0; i < questions.size(); i++) {
            candidates.add(new ArrayList<>());
            minNull[i] = 1_000_000;
        }
        for (int w = 0; w < windows.size(); w++) {
            int i = owner.get(w);
            minNull[i] = spans(windows.get(w), starts[w], ends[w], contexts.get(i), options, minNull[i], candidates.get(i));
        }
        List<List<Answer>> out = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            List<Answer> a = candidates.get(i);
            if (options.handleImpossibleAnswer()) {
                a.add(new Answer(minNull[i], 0, 0, ""));
            }
            a.sort(Comparator.comparingDouble(Answer::score).reversed());
            out.add(List.copyOf(a.subList(0, Math.min(options.topK(), a.size()))));
        }
        return out;
    }

    /** select_starts_ends + decode_spans + get_indices for one window; returns the updated min null score. */
    private double spans(Encoding enc, float[] startLogits, float[] endLogits, String context, Options o,
                         double minNull, List<Answer> out) {
        int n = enc.length();
        boolean[] desired = new boolean[n];
        for (int t = 0; t < n; t++) {
            desired[t] = enc.sequenceIds()[t] == 1 || enc.ids()[t] == clsId;
        }
        double[] start = maskedSoftmax(startLogits, desired);
        double[] end = maskedSoftmax(endLogits, desired);
        if (o.handleImpossibleAnswer()) {
            minNull = Math.min(minNull, start[0] * end[0]);
        }
        start[0] = 0;
        end[0] = 0;
        // candidate spans: start <= end < start + maxAnswerLen, best first
        List<long[]> spans = new ArrayList<>();
        List<Double> scores = new ArrayList<>();
        if (o.topK() == 1) {
            int bs = 0;
            int be = 0;
            double best = -1;
            for (int s = 0; s < n; s++) {
                for (int e = s; e < Math.min(n, s + o.maxAnswerLen()); e++) {
                    double v = start[s] * end[e];
                    if (v > best) {
                        best = v;
                        bs = s;
                        be = e;
                    }
                }
            }
            spans.add(new long[] {bs, be});
            scores.add(best);
        } else {
            List<double[]> all = new ArrayList<>();
            for (int s = 0; s < n; s++) {
                for (int e = s; e < Math.min(n, s + o.maxAnswerLen()); e++) {
                    all.add(new double[] {start[s] * end[e], s, e});
                }
            }
            all.sort(Comparator.comparingDouble((double[] a) -> a[0]).reversed());
            for (int k = 0; k < Math.min(o.topK(), all.size()); k++) {
                spans.add(new long[] {(long) all.get(k)[1], (long) all.get(k)[2]});
                scores.add(all.get(k)[0]);
            }
        }
        for (int k = 0; k < spans.size(); k++) {
            int s = (int) spans.get(k)[0];
            int e = (int) spans.get(k)[1];
            if (!desired[s] || !desired[e]) {
                continue;
            }
            int[] chars = indices(enc, s, e, o.alignToWords());
            out.add(new Answer(scores.get(k), chars[0], chars[1], context.substring(chars[0], chars[1])));
        }
        return minNull;
    }

    /** Softmax with undesired positions at -10000, as transformers. */
    private static double[] maskedSoftmax(float[] logits, boolean[] desired) {
        float[] x = new float[logits.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = desired[i] ? logits[i] : -10000f;
        }
        return softmax(x);
    }

    /** get_indices: character span of the tokens, widened to their words when aligning. */
    private static int[] indices(Encoding enc, int s, int e, boolean align) {
        int[] words = enc.wordIds();
        int[] seqs = enc.sequenceIds();
        if (align && words[s] >= 0 && words[e] >= 0 && seqs[s] == 1 && seqs[e] == 1) {
            return new int[] {wordChars(enc, words[s], true), wordChars(enc, words[e], false)};
        }
        return new int[] {enc.starts()[s], enc.ends()[e]};
    }

    /** word_to_chars in the context: the start of the word's first token or the end of its last. */
    private static int wordChars(Encoding enc, int word, boolean start) {
        int first = -1;
        int last = -1;
        for (int t = 0; t < enc.length(); t++) {
            if (enc.sequenceIds()[t] == 1 && enc.wordIds()[t] == word) {
                if (first < 0) {
                    first = t;
                }
                last = t;
            }
        }
        return start ? enc.starts()[first] : enc.ends()[last];
    }
}
