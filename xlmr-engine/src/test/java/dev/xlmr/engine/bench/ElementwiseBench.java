package dev.xlmr.engine.bench;

import dev.xlmr.engine.KernelProvider;
import dev.xlmr.engine.Kernels;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Time per call of the fused element-wise kernels at BERT-base sizes for 1024 tokens: bias+GELU over the FFN
 * activations (1024 x 3072), residual+LayerNorm (1024 x 768), softmax of one head's 128 x 128 scores.
 * {@code xlmr-engine/bench.sh ElementwiseBench}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@State(Scope.Benchmark)
public class ElementwiseBench {
    @Param({"vector", "scalar"})
    public String provider;
    @Param({"2"})
    public int threads;

    private Kernels k;
    private float[] ffn, ffnSrc, b3072, hidden, residual, out, gamma, beta, scores, scoresSrc;

    @Setup
    public void setup() {
        k = KernelProvider.create(provider, threads);
        Random r = new Random(1);
        ffnSrc = gaussian(r, 1024 * 3072, 2);
        ffn = ffnSrc.clone();
        b3072 = gaussian(r, 3072, 0.1f);
        hidden = gaussian(r, 1024 * 768, 1);
        residual = gaussian(r, 1024 * 768, 1);
        out = new float[1024 * 768];
        gamma = gaussian(r, 768, 1);
        beta = gaussian(r, 768, 1);
        scoresSrc = gaussian(r, 128 * 128, 3);
        scores = scoresSrc.clone();
    }

    /** GELU and softmax work in place: start each invocation from the same data. */
    @Setup(Level.Invocation)
    public void reset() {
        System.arraycopy(ffnSrc, 0, ffn, 0, ffn.length);
        System.arraycopy(scoresSrc, 0, scores, 0, scores.length);
    }

    @TearDown
    public void tearDown() { k.close(); }

    private static float[] gaussian(Random r, int n, float sd) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian() * sd;
        return a;
    }

    @Benchmark
    public float[] biasGelu1024x3072() {
        k.biasGelu(ffn, 1024, 3072, b3072);
        return ffn;
    }

    @Benchmark
    public float[] residualLayerNorm1024x768() {
        k.residualLayerNorm(hidden, residual, 1024, 768, gamma, beta, 1e-5f, out);
        return out;
    }

    @Benchmark
    public float[] softmax128x128() {
        k.softmax(scores, 0, 128, 128, 128, 0.125f, null, 0);
        return scores;
    }
}
