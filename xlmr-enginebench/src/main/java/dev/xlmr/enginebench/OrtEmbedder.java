package dev.xlmr.enginebench;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The peer a Java user picks today: ONNX Runtime's Java API on {@code model.onnx} (CPU execution provider,
 * intra-op threads as given, inter-op 1, sequential execution, all graph optimisations) with Hugging Face's
 * Rust tokenizers through DJL on {@code tokenizer.json}; padded batches and masked mean pooling.
 */
final class OrtEmbedder implements AutoCloseable {
    final OrtEnvironment env;
    final OrtSession session;
    final HuggingFaceTokenizer tokenizer;
    /** {@link System#nanoTime()} when the session was created (before the tokenizer loads). */
    long sessionReadyNanos;
    private final int h;

    OrtEmbedder(Path dir, int threads, int maxLength, int hidden) {
        try {
            env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
                so.setIntraOpNumThreads(threads);
                so.setInterOpNumThreads(1);
                so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
                so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                session = env.createSession(dir.resolve("model.onnx").toString(), so);
                sessionReadyNanos = System.nanoTime();
            }
            tokenizer = HuggingFaceTokenizer.newInstance(dir.resolve("tokenizer.json"), Map.of(
                    "addSpecialTokens", "true", "truncation", "true", "maxLength", String.valueOf(maxLength),
                    "padding", "false"));
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        h = hidden;
    }

    long[][] ids(List<String> texts) {
        Encoding[] enc = tokenizer.batchEncode(texts);
        long[][] out = new long[enc.length][];
        for (int i = 0; i < enc.length; i++) {
            out[i] = enc[i].getIds();
        }
        return out;
    }

    /**
     * Mean-pooled embeddings in input order. {@code sorted}: batches of similar lengths (sorted by token count);
     * otherwise batches in input order, each padded to its longest sentence.
     */
    float[][] embed(List<String> texts, int batchSize, boolean sorted) {
        long[][] ids = ids(texts);
        Integer[] order = new Integer[ids.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        if (sorted) {
            Arrays.sort(order, Comparator.comparingInt(i -> ids[i].length));
        }
        float[][] out = new float[ids.length][];
        for (int b = 0; b < order.length; b += batchSize) {
            int n = Math.min(batchSize, order.length - b);
            long[][] batch = new long[n][];
            for (int i = 0; i < n; i++) {
                batch[i] = ids[order[b + i]];
            }
            float[][] e = run(batch);
            for (int i = 0; i < n; i++) {
                out[order[b + i]] = e[i];
            }
        }
        return out;
    }

    float[] embedOne(String text) {
        return run(new long[][] {tokenizer.encode(text).getIds()})[0];
    }

    /** One padded batch through the session; masked mean of last_hidden_state. */
    float[][] run(long[][] seqs) {
        int n = seqs.length, t = 0;
        for (long[] s : seqs) {
            t = Math.max(t, s.length);
        }
        long[] ids = new long[n * t];
        long[] mask = new long[n * t];
        Arrays.fill(ids, 1L); // <pad>
        for (int i = 0; i < n; i++) {
            System.arraycopy(seqs[i], 0, ids, i * t, seqs[i].length);
            Arrays.fill(mask, i * t, i * t + seqs[i].length, 1L);
        }
        long[] shape = {n, t};
        try (OnnxTensor a = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
             OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
             OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", m), Set.of("last_hidden_state"))) {
            FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] hidden = new float[fb.remaining()];
            fb.get(hidden);
            float[][] out = new float[n][];
            for (int i = 0; i < n; i++) {
                out[i] = Pooling.mean(hidden, i * t * h, seqs[i].length, h);
            }
            return out;
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
        tokenizer.close();
    }
}
