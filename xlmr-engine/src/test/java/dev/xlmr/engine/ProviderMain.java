package dev.xlmr.engine;

/** Prints the provider chosen for {@code args[0]} ("best" or a name); used by {@link KernelProviderTest}. */
public final class ProviderMain {
    private ProviderMain() {}

    public static void main(String[] args) {
        try (Kernels k = args[0].equals("best") ? KernelProvider.best() : KernelProvider.create(args[0], 1)) {
            float[] y = new float[1];
            k.linear(new float[] {1, 2}, 1, 2, k.pack(new float[] {3, 4}, 1, 2, Precision.FP32), null, y, 1);
            if (y[0] != 11f) throw new AssertionError(y[0]);
            System.out.println(k.name());
        }
    }
}
