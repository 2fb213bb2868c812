package dev.xlmr.pipelines;

import dev.xlmr.model.Encoder;
import dev.xlmr.model.Head;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fill-mask, as transformers' {@code pipeline("fill-mask")} (4.27): the most likely tokens for each
 * {@code <mask>} of a text.
 *
 * <pre>{@code
 * try (FillMaskPipeline fill = FillMaskPipeline.load("xlm-roberta-base")) {
 *     List<FillMaskPipeline.Prediction> best = fill.fill("Paris is the <mask> of France.").get(0);
 *     best.get(0).tokenStr();   // "capital"
 *     best.get(0).sequence();   // "Paris is the capital of France."
 * }
 * }</pre>
 *
 * {@code token_str} is the decoding of the single id; {@code sequence} decodes the input with the
 * mask replaced (special tokens skipped, tokenization spaces cleaned up). With several masks, each
 * mask gets its list and the sequences keep the special tokens and the other masks, as in
 * transformers. Inputs longer than the model allows are refused (a truncated mask would be lost).
 */
public final class FillMaskPipeline extends Pipeline {

    /**
     * How many predictions and among which tokens.
     *
     * @param topK    predictions per mask (default 5)
     * @param targets restrict the predictions to these tokens (vocabulary pieces such as "▁capital",
     *                or words, replaced by their first token with a warning as transformers does);
     *                null or empty for the whole vocabulary
     */
    public record Options(int topK, List<String> targets) {
        public Options {
            checkTopK(topK);
            targets = targets == null ? List.of() : List.copyOf(targets);
        }

        public static Options defaults() {
            return new Options(5, null);
        }

        public Options topK(int k) {
            return new Options(k, targets);
        }

        public Options targets(List<String> t) {
            return new Options(topK, t);
        }
    }

    /**
     * One candidate for a mask.
     *
     * @param score    softmax probability over the vocabulary
     * @param token    the token id
     * @param tokenStr the decoded token
     * @param sequence the input with the mask replaced, decoded
     */
    public record Prediction(double score, int token, String tokenStr, String sequence) {
        /** The transformers JSON object: score, token, token_str, sequence. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("score", score);
            m.put("token", token);
            m.put("token_str", tokenStr);
            m.put("sequence", sequence);
            return m;
        }
    }

    private final int maskId;

    /** A pipeline on a masked-LM encoder and its tokenizer (the caller keeps ownership of the encoder). */
    public FillMaskPipeline(Encoder encoder, XlmRobertaTokenizer tokenizer) {
        this(source(encoder, tokenizer));
    }

    private FillMaskPipeline(Source s) {
        super(s);
        requireHead(Head.MASKED_LM);
        maskId = tokenizer.tokenToId("<mask>");
        if (maskId < 0) {
            throw new IllegalArgumentException("the tokenizer has no <mask> token");
        }
    }

    /** Loads a model folder or hub id (revision {@code main}). */
    public static FillMaskPipeline load(String modelOrPath) {
        return load(modelOrPath, null);
    }

    /** Loads a model folder or hub id at a revision. */
    public static FillMaskPipeline load(String modelOrPath, String revision) {
        return build(modelOrPath, revision, FillMaskPipeline::new);
    }

    /** The top 5 predictions for each mask of the text (one list per mask, in text order). */
    public List<List<Prediction>> fill(String text) {
        return fill(text, Options.defaults());
    }

    /** The predictions for each mask of the text (one list per mask, in text order). */
    public List<List<Prediction>> fill(String text, Options options) {
        return fillAll(List.of(text), options).get(0);
    }

    /** Batched: for each text, one list of predictions per mask. */
    public List<List<List<Prediction>>> fillAll(List<String> texts, Options options) {
        int[] targetIds = targetIds(options.targets());
        int topK = targetIds == null ? options.topK() : Math.min(options.topK(), targetIds.length);
        List<Encoding> encs = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            Encoding e = tokenizer.encode(requireText(texts.get(i), "text"), null, EncodeOptions.defaults());
            if (Arrays.stream(e.ids()).noneMatch(id -> id == maskId)) {
                throw new IllegalArgumentException("no mask token <mask> in the input"
                        + (texts.size() == 1 ? "" : " " + i) + ": \"" + texts.get(i) + "\"");
            }
            encs.add(e);
        }
        List<List<List<Prediction>>> results = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            results.add(null);
        }
        forEachRow(encs, (input, row) -> {
            int[] ids = encs.get(input).ids();
            List<Integer> masks = new ArrayList<>();
            for (int t = 0; t < ids.length; t++) {
                if (ids[t] == maskId) {
                    masks.add(t);
                }
            }
            boolean single = masks.size() == 1;
            List<List<Prediction>> perMask = new ArrayList<>();
            for (int pos : masks) {
                double[] probs = softmax(row.at("logits", pos));
                int[] cands = targetIds;
                int[] top = topK(probs, cands, topK);
                List<Prediction> preds = new ArrayList<>(top.length);
                for (int id : top) {
                    int[] filled = ids.clone();
                    filled[pos] = id;
                    String sequence = tokenizer.decode(filled, single);
                    preds.add(new Prediction(probs[id], id, tokenizer.decode(new int[] {id}, false), sequence));
                }
                perMask.add(List.copyOf(preds));
            }
            results.set(input, List.copyOf(perMask));
        });
        return results;
    }

    /** Vocabulary-sized logits: keep a batch under about 64M floats. */
    @Override
    int rowsPerBatch(int paddedLength) {
        long perRow = (long) paddedLength * encoder.config().vocabSize();
        return (int) Math.max(1, Math.min(batchSize(), (64L << 20) / Math.max(1, perRow)));
    }

    /** The ids of the best {@code k} candidates (all ids when {@code candidates} is null), best first. */
    private static int[] topK(double[] probs, int[] candidates, int k) {
        int n = candidates == null ? probs.length : candidates.length;
        k = Math.min(k, n);
        int[] best = new int[k];
        int size = 0;
        for (int j = 0; j < n; j++) {
            int id = candidates == null ? j : candidates[j];
            double p = probs[id];
            if (size == k && !(p > probs[best[k - 1]])) {
                continue;
            }
            int at = size < k ? size++ : k - 1;
            while (at > 0 && p > probs[best[at - 1]]) {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = id;
        }
        return best;
    }

    /** transformers' get_target_ids: vocabulary pieces, else the first token of the word (with a warning). */
    private int[] targetIds(List<String> targets) {
        if (targets.isEmpty()) {
            return null;
        }
        Set<Integer> ids = new LinkedHashSet<>();
        for (String t : targets) {
            int id = tokenizer.tokenToId(t);
            if (id < 0) {
                int[] pieces = tokenizer.encode(t, null, EncodeOptions.defaults().addSpecialTokens(false)).ids();
                if (pieces.length == 0) {
                    warn("the target `" + t + "` does not exist in the model vocabulary; ignoring it");
                    continue;
                }
                id = pieces[0];
                warn("the target `" + t + "` does not exist in the model vocabulary; replacing it with `"
                        + tokenizer.idToToken(id) + "`");
            }
            ids.add(id);
        }
        if (ids.isEmpty()) {
            throw new IllegalArgumentException("at least one target must be a token of the vocabulary");
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }
}
