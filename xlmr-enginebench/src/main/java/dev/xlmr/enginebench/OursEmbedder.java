package dev.xlmr.enginebench;

import dev.xlmr.engine.FastEncoder;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Our stack: the project's tokenizer, {@link FastEncoder} (length-sorted packed batches) and mean pooling. */
final class OursEmbedder implements AutoCloseable {
    final XlmRobertaTokenizer tokenizer;
    final FastEncoder encoder;
    private final EncodeOptions opts;
    private final int h;

    /** Loads the tokenizer on another thread while the model loads, as the pipelines do. */
    OursEmbedder(Path dir, FastEncoder.Options options, int maxLength) {
        java.util.concurrent.CompletableFuture<XlmRobertaTokenizer> tok = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> XlmRobertaTokenizer.load(dir, XlmRobertaTokenizer.Format.JSON),
                r -> Thread.ofPlatform().daemon().start(r));
        FastEncoder enc = FastEncoder.load(dir, options);
        this(tok.join(), enc, maxLength);
    }

    OursEmbedder(XlmRobertaTokenizer tokenizer, FastEncoder encoder, int maxLength) {
        this.tokenizer = tokenizer;
        this.encoder = encoder;
        opts = EncodeOptions.defaults().maxLength(maxLength);
        h = encoder.config().hiddenSize();
    }

    int[] ids(String text) {
        return tokenizer.encode(text, null, opts).ids();
    }

    List<int[]> ids(List<String> texts) {
        List<int[]> out = new ArrayList<>(texts.size());
        for (String t : texts) {
            out.add(ids(t));
        }
        return out;
    }

    /** Mean-pooled sentence embeddings, in input order. */
    float[][] embed(List<String> texts, int batchSize) {
        List<int[]> ids = ids(texts);
        float[][] hidden = encoder.encodeAll(ids, batchSize);
        float[][] out = new float[hidden.length][];
        for (int i = 0; i < hidden.length; i++) {
            out[i] = Pooling.mean(hidden[i], 0, ids.get(i).length, h);
        }
        return out;
    }

    /** One sentence, as a latency-bound caller would run it. */
    float[] embedOne(String text) {
        int[] ids = ids(text);
        float[] hidden = encoder.encodePacked(new int[][] {ids})[0];
        return Pooling.mean(hidden, 0, ids.length, h);
    }

    @Override
    public void close() {
        encoder.close();
    }
}
