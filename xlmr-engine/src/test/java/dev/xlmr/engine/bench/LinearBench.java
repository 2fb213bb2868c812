package dev.xlmr.engine.bench;

import dev.xlmr.engine.KernelProvider;
import dev.xlmr.engine.Kernels;
import dev.xlmr.engine.Precision;
import dev.xlmr.engine.Weights;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
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
 * GFLOP/s of {@link Kernels#linear} (y = x W^T + b, 2 rows*in*out flops): read the {@code linear:gflop} line,
 * whose "ops/s" are GFLOP/s. Run with {@code xlmr-engine/bench.sh LinearBench} (see that script), e.g.
 * {@code xlmr-engine/bench.sh LinearBench -p provider=vector -p precision=FP32,BF16,INT8}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@State(Scope.Benchmark)
public class LinearBench {
    @Param({"vector", "native"})
    public String provider;
    @Param({"32", "1024"})
    public int rows;
    @Param({"768"})
    public int in;
    @Param({"768", "3072"})
    public int out;
    @Param({"FP32"})
    public String precision;
    @Param({"2"})
    public int threads;

    private Kernels kernels;
    private Weights w;
    private float[] x, bias, y;
    private double gflop;

    /** Per-invocation flop count; JMH reports it per second, i.e. as GFLOP/s. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Flops {
        public double gflop;

        @Setup(Level.Iteration)
        public void reset() { gflop = 0; }
    }

    @Setup
    public void setup() {
        if (!KernelProvider.isAvailable(provider)) throw new IllegalStateException(provider + " kernels unavailable");
        kernels = KernelProvider.create(provider, threads);
        Random r = new Random(1);
        float[] wf = new float[out * in];
        for (int i = 0; i < wf.length; i++) wf[i] = (float) (r.nextGaussian() * 0.03);
        w = kernels.pack(wf, out, in, Precision.valueOf(precision));
        x = new float[rows * in];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        bias = new float[out];
        y = new float[rows * out];
        gflop = 2.0 * rows * in * out / 1e9;
    }

    @TearDown
    public void tearDown() { kernels.close(); }

    @Benchmark
    public float[] linear(Flops f) {
        kernels.linear(x, rows, in, w, bias, y, out);
        f.gflop += gflop;
        return y;
    }
}
