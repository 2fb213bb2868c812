package dev.xlmr.train;

import dev.xlmr.engine.KernelProvider;
import dev.xlmr.engine.Kernels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * Times sequence-classification fine-tuning steps on a model folder, the Java side of
 * bench/train_step_torch.py: one random batch, dropout off, AdamW (lr 5e-5, weight decay 0.01),
 * clipping at 1.0, one warm-up step, then STEPS timed.
 *
 * <pre>
 * java -cp ... dev.xlmr.train.TrainBench /tmp/xlmr-bench-base 16 128 2 fast|fp32|f64
 * </pre>
 * fast: the default training path ({@link FastModel}: fp32 master weights, gradients and AdamW
 * moments, packed sequences); fp32: the float64 reference with its matrix products in fp32
 * ({@code --fp32-matmul}); f64: the plain float64 reference. With {@code -Dxlmr.train.profile=true} the fast
 * path prints its time per op after each step ({@link OpProfile}).
 */
public final class TrainBench {
    private TrainBench() {}

    static TrainBatch randomBatch(int batch, int seq, int vocab) {
        Random rnd = new Random(0);
        int[][] ids = new int[batch][seq];
        int[][] mask = new int[batch][seq];
        int[] labels = new int[batch];
        for (int r = 0; r < batch; r++) {
            for (int s = 0; s < seq; s++) {
                ids[r][s] = s == 0 ? 0 : s == seq - 1 ? 2 : 3 + rnd.nextInt(vocab - 3);
                mask[r][s] = 1;
            }
            labels[r] = rnd.nextInt(2);
        }
        return TrainBatch.classes(ids, mask, labels);
    }

    /** In its own frame, so the float64 copy is garbage once it returns. */
    private static FastModel load(Path dir, Kernels k) {
        HfFolder f = HfFolder.open(dir, Task.TEXT_CLASSIFICATION, List.of("a", "b"), "single_label_classification", 0);
        return FastModel.of(f.model(), k);
    }

    static void fast(Path dir, int batch, int seq, int steps) throws Exception {
        long t0 = System.nanoTime();
        Kernels k = KernelProvider.create(null, KernelProvider.defaultThreads());
        FastModel m = load(dir, k);
        System.gc();
        System.out.printf("loaded in %.1f s; kernels %s%n", (System.nanoTime() - t0) / 1e9, k.description());
        var params = m.parameters();
        FastAdamW opt = new FastAdamW(params, 0.9, 0.999, 1e-8, 0.01, List.of("bias", "LayerNorm.weight"));
        TrainBatch b = randomBatch(batch, seq, m.config().vocabSize());
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        double total = 0;
        long cpu0 = 0;
        for (int s = 0; s <= steps; s++) {
            long a = System.nanoTime();
            m.zeroGrad();
            long z = System.nanoTime();
            OpProfile.mark();
            Tape t = new Tape();
            FVar loss = m.loss(t, b, null);
            long fwd = System.nanoTime();
            m.backward(t, loss, 1f);
            long bwd = System.nanoTime();
            FastAdamW.clipGradNorm(params.values(), 1.0);
            long clip = System.nanoTime();
            opt.step(5e-5);
            long end = System.nanoTime();
            System.out.printf("step %d: loss %.5f, %.2f s (zero_grad %.2f, forward %.2f, backward %.2f, clip %.2f, AdamW %.2f)%n",
                    s, loss.data[0], (end - a) / 1e9, (z - a) / 1e9, (fwd - z) / 1e9, (bwd - fwd) / 1e9,
                    (clip - bwd) / 1e9, (end - clip) / 1e9);
            if (OpProfile.ON) {
                System.out.print(OpProfile.report());
                OpProfile.reset();
            }
            if (s > 0) {
                total += (end - a) / 1e9;
            } else {
                cpu0 = os.getProcessCpuTime();
            }
        }
        String hwm = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmHWM")).findFirst().orElse("?");
        double cpu = (os.getProcessCpuTime() - cpu0) / 1e9 / steps;
        System.out.printf("java fast (fp32 master weights, packed): %.2f s/step wall (%.4f steps/s), %.2f CPU s/step, batch %dx%d, %s%n",
                total / steps, steps / total, cpu, batch, seq, hwm.replaceAll("\\s+", " "));
        k.close();
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int batch = Integer.parseInt(args[1]);
        int seq = Integer.parseInt(args[2]);
        int steps = Integer.parseInt(args[3]);
        boolean fp32 = args[4].equals("fp32");
        if (args[4].equals("fast")) {
            fast(dir, batch, seq, steps);
            return;
        }
        long t0 = System.nanoTime();
        HfFolder f = HfFolder.open(dir, Task.TEXT_CLASSIFICATION, List.of("a", "b"), "single_label_classification", 0);
        Kernels k = fp32 ? KernelProvider.create(null, KernelProvider.defaultThreads()) : null;
        TrainableModel m = fp32 ? f.model().withKernels(k) : f.model();
        System.out.printf("loaded in %.1f s; kernels %s%n", (System.nanoTime() - t0) / 1e9, k == null ? "none (float64 reference)" : k.description());
        var params = m.parameters().all();
        AdamW opt = new AdamW(params, 0.9, 0.999, 1e-8, 0.01, List.of("bias", "LayerNorm.weight"));
        int vocab = m.config().vocabSize();
        TrainBatch b = randomBatch(batch, seq, vocab);
        double total = 0;
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = 0;
        for (int s = 0; s <= steps; s++) {
            long a = System.nanoTime();
            m.parameters().zeroGrad();
            Tape t = new Tape();
            Var loss = m.loss(t, b);
            long fwd = System.nanoTime();
            t.backward(loss);
            long bwd = System.nanoTime();
            AdamW.clipGradNorm(params.values(), 1.0);
            opt.step(5e-5);
            long end = System.nanoTime();
            System.out.printf("step %d: loss %.5f, %.2f s (forward %.2f, backward %.2f, clip+AdamW %.2f)%n", s, loss.item(),
                    (end - a) / 1e9, (fwd - a) / 1e9, (bwd - fwd) / 1e9, (end - bwd) / 1e9);
            if (OpProfile.ON) {
                System.out.print(OpProfile.report());
                OpProfile.reset();
            }
            if (s > 0) {
                total += (end - a) / 1e9;
            } else {
                cpu0 = os.getProcessCpuTime();
            }
        }
        String hwm = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmHWM")).findFirst().orElse("?");
        double cpu = (os.getProcessCpuTime() - cpu0) / 1e9 / steps;
        System.out.printf("java %s: %.2f s/step wall (%.4f steps/s), %.2f CPU s/step, batch %dx%d, %s%n",
                fp32 ? "fp32 matmuls" : "float64 reference", total / steps, steps / total, cpu, batch, seq,
                hwm.replaceAll("\\s+", " "));
        if (k != null) {
            k.close();
        }
    }
}
