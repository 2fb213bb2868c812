package dev.xlmr.bench;

import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import dev.xlmr.tokenizer.Encoding;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Encode throughput over the whole corpus: one operation = every line of tok_public.txt once, so
 * lines/s = ops/s x lines and tokens/s = ops/s x tokens ({@link BenchMain} prints both).
 *
 * <ul>
 *   <li>{@code single*}: one line at a time, on one thread ({@code encode(String)}).</li>
 *   <li>{@code batch*}: the whole file in one call ({@code encodeBatch} / DJL {@code batchEncode}).
 *       DJL's Rust side spreads a batch over rayon's pool (one thread per core) unless
 *       TOKENIZERS_PARALLELISM=false ({@code batchDjlOneThread}); ours is single-threaded, and
 *       {@code batchOursJsonThreads} spreads 32-line batches over a pool of one thread per core for
 *       the like-for-like figure.</li>
 *   <li>{@code batch32*}: the file as batches of 32 lines, one call per batch.</li>
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class TokenizerBench {

    @Benchmark
    public void singleOursJson(Corpus c, Blackhole bh) {
        for (String line : c.array) {
            bh.consume(c.json.encode(line));
        }
    }

    @Benchmark
    public void singleOursSpm(Corpus c, Blackhole bh) {
        for (String line : c.array) {
            bh.consume(c.spm.encode(line));
        }
    }

    @Benchmark
    public void singleDjl(Corpus c, Blackhole bh) {
        for (String line : c.array) {
            bh.consume(c.djl.encode(line));
        }
    }

    /**
     * DJL's JNI calls without its Java Encoding: the Rust encode plus the ids only (DJL's own
     * {@code encode} also copies types, tokens, word ids, masks and char spans over JNI). A lower
     * bound on the Rust side's cost, doing less work than ours, which always builds a full Encoding.
     */
    @Benchmark
    public void singleDjlIdsOnly(Corpus c, Blackhole bh) {
        long handle = c.djl.getHandle();
        for (String line : c.array) {
            long e = TokenizersLibrary.LIB.encode(handle, line, true);
            bh.consume(TokenizersLibrary.LIB.getTokenIds(e));
            TokenizersLibrary.LIB.deleteEncoding(e);
        }
    }

    @Benchmark
    public List<Encoding> batchOursJson(Corpus c) {
        return c.json.encodeBatch(c.lines, c.opts);
    }

    @Benchmark
    public List<Encoding> batchOursSpm(Corpus c) {
        return c.spm.encodeBatch(c.lines, c.opts);
    }

    @Benchmark
    public List<Encoding> batchOursJsonThreads(Corpus c) throws InterruptedException, ExecutionException {
        List<Future<List<Encoding>>> parts = new ArrayList<>(c.batches.size());
        for (List<String> b : c.batches) {
            parts.add(c.pool.submit(() -> c.json.encodeBatch(b, c.opts)));
        }
        List<Encoding> out = new ArrayList<>(c.lines.size());
        for (Future<List<Encoding>> f : parts) {
            out.addAll(f.get());
        }
        return out;
    }

    @Benchmark
    public ai.djl.huggingface.tokenizers.Encoding[] batchDjl(Corpus c) {
        return c.djl.batchEncode(c.array);
    }

    /** DJL's batch with rayon turned off (TOKENIZERS_PARALLELISM=false): one thread, like batchOursJson. */
    @Benchmark
    public ai.djl.huggingface.tokenizers.Encoding[] batchDjlOneThread(Corpus c, SequentialDjl s) {
        return c.djl.batchEncode(c.array);
    }

    /** Turns the Rust side's batch parallelism off for the benchmark that takes this state. */
    @State(Scope.Benchmark)
    public static class SequentialDjl {
        @Setup(Level.Trial)
        public void setup() {
            NativeEnv.set("TOKENIZERS_PARALLELISM", "false");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            NativeEnv.set("TOKENIZERS_PARALLELISM", null);
        }
    }

    /** As {@link #singleDjlIdsOnly}, for the whole file as one batch (rayon on). */
    @Benchmark
    public void batchDjlIdsOnly(Corpus c, Blackhole bh) {
        long[] encodings = TokenizersLibrary.LIB.batchEncode(c.djl.getHandle(), c.array, true);
        for (long e : encodings) {
            bh.consume(TokenizersLibrary.LIB.getTokenIds(e));
            TokenizersLibrary.LIB.deleteEncoding(e);
        }
    }

    @Benchmark
    public void batch32OursJson(Corpus c, Blackhole bh) {
        for (List<String> b : c.batches) {
            bh.consume(c.json.encodeBatch(b, c.opts));
        }
    }

    @Benchmark
    public void batch32Djl(Corpus c, Blackhole bh) {
        for (String[] b : c.batchArrays) {
            bh.consume(c.djl.batchEncode(b));
        }
    }
}
