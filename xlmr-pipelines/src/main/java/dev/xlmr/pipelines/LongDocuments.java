package dev.xlmr.pipelines;

import dev.xlmr.pipelines.EmbeddingPipeline.Input;
import dev.xlmr.pipelines.EmbeddingPipeline.Options;
import dev.xlmr.pipelines.EmbeddingPipeline.Output;
import dev.xlmr.pipelines.EmbeddingPipeline.WindowPart;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Texts longer than the model's window: overlapping windows, and late chunking.
 *
 * <p><b>Windows</b> ({@link EmbeddingPipeline.LongInputs#WINDOWS}): a text of {@code n} tokens is cut into
 * windows of the window's length ({@link EmbeddingPipeline#inputLimit()}), each {@code <s>} (and the
 * prompt's tokens, when there is a prompt), a run of the text's tokens, {@code </s>}; neighbouring windows
 * share {@link Options#overlap} tokens (-1: a quarter of the window). Each window runs through the model
 * alone. The outputs:
 * <ul>
 *   <li>dense: the windows' pooled vectors (the folder's pooling, before its Dense/Normalize modules)
 *       averaged with the number of tokens each pooled as weight, then the modules, the dimensions and the
 *       normalisation as for a short text (for mean pooling without overlap this is the mean over every
 *       window's tokens);</li>
 *   <li>sparse: the maximum weight of each id over the windows (BGE-M3 lexical weights, SpladePooling max);</li>
 *   <li>ColBERT: one vector per token of the whole text, as if the window were long enough: each token's
 *       hidden state comes from the window where it has the most context on its shorter side (ties: the
 *       earlier window; BERT's "max context" rule), {@code </s>} from the last window.</li>
 * </ul>
 * A text that fits in the window gives exactly what it gives without windows.
 *
 * <p><b>Late chunking</b> ({@link EmbeddingPipeline#lateChunking}, Günther et al. 2024): the chunks of one
 * document are joined with a space and run as one text (through windows, stitched as for ColBERT, when it
 * is longer than the window); each chunk's vector is the mean of the last hidden states of its tokens (a
 * token belongs to the chunk where it starts; the joining space belongs to the chunk after it; special and
 * prompt tokens belong to none), then the folder's modules after its Pooling, the dimensions and the
 * normalisation. So each chunk's vector has seen the whole document around it.
 *
 * <pre>{@code
 * try (EmbeddingPipeline embed = EmbeddingPipeline.load("BAAI/bge-m3")) {
 *     Options windows = Options.defaults().longInputs(EmbeddingPipeline.LongInputs.WINDOWS).overlap(64);
 *     float[] book = embed.embed(longText, windows);
 *     List<float[]> chunks = embed.lateChunking(List.of("Berlin is the capital of Germany.",
 *             "It has 3.8 million inhabitants."), Options.defaults());
 * }
 * }</pre>
 */
public final class LongDocuments {
    private LongDocuments() {}

    /**
     * The first content token of each window: {@code n} tokens in windows of {@code size}, neighbours sharing
     * {@code overlap}; the last window ends at the text's end or before.
     */
    static int[] windowStarts(int n, int size, int overlap) {
        if (size < 1) {
            throw new IllegalArgumentException("windows need room for at least one token of the text");
        }
        if (overlap >= size) {
            throw new IllegalArgumentException("overlap " + overlap + " must be smaller than the window's " + size
                    + " text tokens");
        }
        int step = size - overlap;
        List<Integer> starts = new ArrayList<>();
        starts.add(0);
        while (starts.get(starts.size() - 1) + size < n) {
            starts.add(starts.get(starts.size() - 1) + step);
        }
        return starts.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The overlap of the options for windows of {@code size} text tokens. */
    static int overlap(Options options, int size) {
        return options.overlap() < 0 ? size / 4 : options.overlap();
    }

    /** The windows of one encoding: its first {@code header} tokens, tokens [header + s, header + s + size), its last. */
    static List<Encoding> split(Encoding e, int header, int size, int[] starts) {
        int n = e.length() - header - 1;
        List<Encoding> out = new ArrayList<>(starts.length);
        for (int s : starts) {
            int len = Math.min(size, n - s);
            int[] at = new int[header + len + 1];
            for (int i = 0; i < header; i++) {
                at[i] = i;
            }
            for (int i = 0; i < len; i++) {
                at[header + i] = header + s + i;
            }
            at[at.length - 1] = e.length() - 1;
            out.add(pick(e, at));
        }
        return out;
    }

    private static Encoding pick(Encoding e, int[] at) {
        int[] ids = new int[at.length];
        String[] tokens = new String[at.length];
        int[] types = new int[at.length];
        int[] starts = new int[at.length];
        int[] ends = new int[at.length];
        int[] mask = new int[at.length];
        int[] special = new int[at.length];
        int[] words = new int[at.length];
        int[] seqs = new int[at.length];
        for (int i = 0; i < at.length; i++) {
            int j = at[i];
            ids[i] = e.ids()[j];
            tokens[i] = e.tokens()[j];
            types[i] = e.typeIds()[j];
            starts[i] = e.starts()[j];
            ends[i] = e.ends()[j];
            mask[i] = e.attentionMask()[j];
            special[i] = e.specialTokensMask()[j];
            words[i] = e.wordIds()[j];
            seqs[i] = e.sequenceIds()[j];
        }
        return new Encoding(ids, tokens, types, starts, ends, mask, special, words, seqs, List.of());
    }

    /**
     * The hidden states of a whole sequence of {@code length} tokens from its windows' ({@link #split}): the
     * header from the first window, each text token from the window where it has the most context on its
     * shorter side (ties: the earlier), the final token from the last window.
     */
    static float[][] stitch(int length, int header, int size, int[] starts, List<float[][]> windows) {
        int n = length - header - 1;
        float[][] out = new float[length][];
        for (int i = 0; i < header; i++) {
            out[i] = windows.get(0)[i];
        }
        for (int p = 0; p < n; p++) {
            int best = -1;
            int score = -1;
            for (int k = 0; k < starts.length; k++) {
                int s = starts[k];
                int e = Math.min(s + size, n);
                if (p >= s && p < e) {
                    int sc = Math.min(p - s, e - 1 - p);
                    if (sc > score) {
                        best = k;
                        score = sc;
                    }
                }
            }
            out[header + p] = windows.get(best)[header + p - starts[best]];
        }
        float[][] last = windows.get(windows.size() - 1);
        out[length - 1] = last[last.length - 1];
        return out;
    }

    /** How the inputs became windows: for each input its first window and its starts (null: one whole window). */
    private record Plan(List<Input> windows, int[] first, int[][] starts, int header, int size) {}

    private static Plan plan(EmbeddingPipeline p, List<Input> inputs, Options options) {
        int limit = p.inputLimit();
        int header = p.windowHeader(options);
        int size = limit - header - 1;
        if (size < 1) {
            throw new IllegalArgumentException("a window of " + limit + " tokens leaves no room for the text after "
                    + header + " tokens of <s> and prompt");
        }
        int overlap = overlap(options, size);
        List<Input> windows = new ArrayList<>();
        int[] first = new int[inputs.size()];
        int[][] starts = new int[inputs.size()][];
        for (int i = 0; i < inputs.size(); i++) {
            Input in = inputs.get(i);
            first[i] = windows.size();
            if (in.length() <= limit) {
                windows.add(in);
                continue;
            }
            starts[i] = windowStarts(in.length() - header - 1, size, overlap);
            for (Encoding w : split(in.encoding(), header, size, starts[i])) {
                windows.add(new Input(w, in.promptTokens(), w.length()));
            }
        }
        return new Plan(windows, first, starts, header, size);
    }

    private static int count(Plan plan, int input) {
        return plan.starts()[input] == null ? 1 : plan.starts()[input].length;
    }

    /** The whole text's last hidden states of one input from its windows. */
    private static float[][] hidden(Plan plan, List<WindowPart> parts, int input, int length) {
        int from = plan.first()[input];
        if (plan.starts()[input] == null) {
            return parts.get(from).hidden();
        }
        List<float[][]> h = new ArrayList<>();
        for (int k = 0; k < plan.starts()[input].length; k++) {
            h.add(parts.get(from + k).hidden());
        }
        return stitch(length, plan.header(), plan.size(), plan.starts()[input], h);
    }

    /** {@link EmbeddingPipeline#encodePrepared} with {@link EmbeddingPipeline.LongInputs#WINDOWS}. */
    static List<MultiEmbedding> windowed(EmbeddingPipeline p, List<Input> inputs, Options options, Set<Output> outputs) {
        boolean dense = outputs.contains(Output.DENSE);
        boolean sparse = outputs.contains(Output.SPARSE);
        boolean colbert = outputs.contains(Output.COLBERT);
        Plan plan = plan(p, inputs, options);
        if (sparse && !p.sparseTakesMax()) {
            for (int i = 0; i < inputs.size(); i++) {
                if (count(plan, i) > 1) {
                    throw new IllegalArgumentException("windows combine sparse vectors by their maximum; this SpladePooling sums");
                }
            }
        }
        List<WindowPart> parts = p.windowParts(plan.windows(), options, dense, sparse, colbert);
        List<MultiEmbedding> out = new ArrayList<>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            int from = plan.first()[i];
            int windows = count(plan, i);
            float[] d = null;
            SparseEmbedding s = null;
            float[][] c = null;
            if (dense) {
                int dim = parts.get(from).pooled().length;
                double[] sum = new double[dim];
                double weight = 0;
                for (int k = 0; k < windows; k++) {
                    WindowPart w = parts.get(from + k);
                    weight += w.pooledTokens();
                    for (int j = 0; j < dim; j++) {
                        sum[j] += (double) w.pooledTokens() * w.pooled()[j];
                    }
                }
                float[] mean = new float[dim];
                for (int j = 0; j < dim; j++) {
                    mean[j] = (float) (sum[j] / Math.max(weight, 1e-9));
                }
                d = p.finishPooled(mean, options);
            }
            if (sparse) {
                s = windows == 1 ? parts.get(from).sparse() : maxMerge(parts.subList(from, from + windows), p.spladeSparse());
                s = s.topK(options.maxActiveDims());
            }
            if (colbert) {
                c = p.colbertOf(hidden(plan, parts, i, inputs.get(i).length()));
            }
            out.add(new MultiEmbedding(d, s, c));
        }
        return out;
    }

    /** The maximum of each id over the windows; ids in first-seen order (BGE-M3) or ascending (SPLADE). */
    private static SparseEmbedding maxMerge(List<WindowPart> windows, boolean ascending) {
        Map<Integer, Float> max = new LinkedHashMap<>();
        for (WindowPart w : windows) {
            SparseEmbedding s = w.sparse();
            for (int j = 0; j < s.size(); j++) {
                max.merge(s.ids()[j], s.values()[j], Math::max);
            }
        }
        int[] ids = new int[max.size()];
        float[] values = new float[max.size()];
        Integer[] keys = max.keySet().toArray(new Integer[0]);
        if (ascending) {
            Arrays.sort(keys);
        }
        for (int j = 0; j < keys.length; j++) {
            ids[j] = keys[j];
            values[j] = max.get(keys[j]);
        }
        return SparseEmbedding.of(ids, values);
    }

    /** {@link EmbeddingPipeline#lateChunkingAll}. */
    static List<List<float[]>> lateChunking(EmbeddingPipeline p, List<List<String>> documents, Options options) {
        String prompt = p.promptText(options);
        List<Input> inputs = new ArrayList<>(documents.size());
        List<int[][]> bounds = new ArrayList<>(documents.size());
        for (int d = 0; d < documents.size(); d++) {
            List<String> chunks = documents.get(d);
            String where = documents.size() == 1 ? "" : "document " + d + ": ";
            if (chunks == null || chunks.isEmpty()) {
                throw new IllegalArgumentException(where + "late chunking needs at least one chunk");
            }
            StringBuilder text = new StringBuilder(prompt == null ? "" : prompt);
            int[][] b = new int[chunks.size()][2];
            for (int i = 0; i < chunks.size(); i++) {
                String c = Pipeline.requireText(chunks.get(i), "chunk");
                if (i > 0) {
                    text.append(' ');
                }
                b[i][0] = text.length() - (i > 0 ? 1 : 0); // the joining space belongs to this chunk
                text.append(c);
                b[i][1] = text.length();
            }
            String s = text.toString();
            if (p.stripsInputs()) {
                int lead = 0;
                while (lead < s.length() && Character.isWhitespace(s.charAt(lead))) {
                    lead++;
                }
                s = s.strip();
                for (int[] r : b) {
                    r[0] -= lead;
                    r[1] -= lead;
                }
                if (p.lowerCases()) {
                    String lower = s.toLowerCase(Locale.ROOT);
                    if (lower.length() != s.length()) {
                        throw new IllegalArgumentException(where + "lower-casing changes the length of the text,"
                                + " so its chunks cannot be found in it");
                    }
                    s = lower;
                }
            }
            Encoding e = p.tokenizer().encode(s, null, EncodeOptions.defaults());
            inputs.add(new Input(e, p.promptTokens(options), e.length()));
            bounds.add(b);
        }
        Plan plan = plan(p, inputs, options);
        List<WindowPart> parts = p.windowParts(plan.windows(), options, false, false, true);
        List<List<float[]>> out = new ArrayList<>(documents.size());
        for (int d = 0; d < documents.size(); d++) {
            Encoding e = inputs.get(d).encoding();
            float[][] h = hidden(plan, parts, d, e.length());
            int[][] b = bounds.get(d);
            int dim = h[0].length;
            double[][] sum = new double[b.length][dim];
            int[] tokens = new int[b.length];
            for (int t = 0; t < e.length(); t++) {
                if (e.specialTokensMask()[t] != 0) {
                    continue;
                }
                int at = e.starts()[t];
                for (int i = 0; i < b.length; i++) {
                    if (at >= b[i][0] && at < b[i][1]) {
                        tokens[i]++;
                        for (int j = 0; j < dim; j++) {
                            sum[i][j] += h[t][j];
                        }
                        break;
                    }
                }
            }
            List<float[]> chunks = new ArrayList<>(b.length);
            for (int i = 0; i < b.length; i++) {
                if (tokens[i] == 0) {
                    throw new IllegalArgumentException((documents.size() == 1 ? "" : "document " + d + ": ")
                            + "chunk " + i + " has no tokens (empty or only spaces)");
                }
                float[] mean = new float[dim];
                for (int j = 0; j < dim; j++) {
                    mean[j] = (float) (sum[i][j] / tokens[i]);
                }
                chunks.add(p.finishChunk(mean, options));
            }
            out.add(chunks);
        }
        return out;
    }
}
