package dev.xlmr.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.model.Ops;
import dev.xlmr.model.Tensor;
import dev.xlmr.model.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A sentence-transformers {@code Dense} module ({@code 2_Dense/}): {@code activation(W x + b)} on the
 * pooled vector. {@code config.json} gives {@code in_features}, {@code out_features}, {@code bias} and
 * {@code activation_function} (a torch class name such as {@code torch.nn.modules.activation.Tanh});
 * the weights are {@code linear.weight} / {@code linear.bias} of {@code model.safetensors} or
 * {@code pytorch_model.bin} (read through the restricted unpickler).
 *
 * <pre>{@code
 * DenseModule d = DenseModule.read(Path.of("my-model/2_Dense"));
 * float[] y = d.apply(pooled);   // d.outFeatures() values
 * }</pre>
 *
 * @param inFeatures  the input size
 * @param outFeatures the output size
 * @param weight      {@code [out][in]}
 * @param bias        {@code [out]}, or null without bias
 * @param activation  the activation after the linear map
 */
public record DenseModule(int inFeatures, int outFeatures, Tensor weight, Tensor bias, Function activation)
        implements SentenceTransformers.Step {

    /** The activations sentence-transformers' Dense modules name (torch.nn classes). */
    public enum Function {
        IDENTITY, TANH, RELU, SIGMOID, GELU, SILU, LEAKY_RELU;

        /** The function of a torch class name ("torch.nn.modules.activation.Tanh", "torch.nn.Identity", "Tanh"). */
        public static Function of(String name) {
            String n = name.substring(name.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
            return switch (n) {
                case "identity" -> IDENTITY;
                case "tanh" -> TANH;
                case "relu" -> RELU;
                case "sigmoid" -> SIGMOID;
                case "gelu" -> GELU;
                case "silu" -> SILU;
                case "leakyrelu" -> LEAKY_RELU;
                default -> throw new IllegalArgumentException("unsupported Dense activation_function '" + name
                        + "' (Identity, Tanh, ReLU, Sigmoid, GELU, SiLU, LeakyReLU)");
            };
        }

        /** The function in double precision (GELU exact, LeakyReLU with torch's slope 0.01). */
        public double apply(double x) {
            return switch (this) {
                case IDENTITY -> x;
                case TANH -> Math.tanh(x);
                case RELU -> Math.max(0, x);
                case SIGMOID -> Scores.sigmoid(x);
                case GELU -> Ops.gelu(x);
                case SILU -> x / (1 + Math.exp(-x));
                case LEAKY_RELU -> x >= 0 ? x : 0.01 * x;
            };
        }
    }

    public DenseModule {
        if (weight.rank() != 2 || weight.dim(0) != outFeatures || weight.dim(1) != inFeatures) {
            throw new IllegalArgumentException("Dense weight has shape " + java.util.Arrays.toString(weight.shape())
                    + ", config says [" + outFeatures + ", " + inFeatures + "]");
        }
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != outFeatures)) {
            throw new IllegalArgumentException("Dense bias has shape " + java.util.Arrays.toString(bias.shape())
                    + ", config says [" + outFeatures + "]");
        }
    }

    /** Reads a Dense module folder (config.json and its weights). */
    public static DenseModule read(Path dir) {
        JsonNode c = Pipeline.readJson(dir.resolve("config.json"));
        if (c == null) {
            throw new IllegalArgumentException(dir + ": the Dense module has no config.json");
        }
        int in = c.path("in_features").asInt(-1);
        int out = c.path("out_features").asInt(-1);
        if (in < 1 || out < 1) {
            throw new IllegalArgumentException(dir.resolve("config.json") + ": in_features and out_features must be positive");
        }
        boolean hasBias = c.path("bias").asBoolean(true);
        Function act = Function.of(c.path("activation_function").asText("torch.nn.modules.activation.Tanh"));
        Path file = null;
        for (String name : new String[] {"model.safetensors", "pytorch_model.bin"}) {
            if (Files.isRegularFile(dir.resolve(name))) {
                file = dir.resolve(name);
                break;
            }
        }
        if (file == null) {
            throw new IllegalArgumentException(dir + ": the Dense module has no model.safetensors or pytorch_model.bin");
        }
        try (Weights w = Weights.open(file)) {
            Tensor weight = copy(w.get("linear.weight"));
            Tensor bias = hasBias ? copy(w.get("linear.bias")) : null;
            return new DenseModule(in, out, weight, bias, act);
        }
    }

    /** A copy that outlives the mapped file. */
    static Tensor copy(Tensor t) {
        return Tensor.of(t.name(), t.shape(), t.toFloatArray());
    }

    /** {@code activation(W x + b)} of one vector. */
    @Override
    public float[] apply(float[] x) {
        if (x.length != inFeatures) {
            throw new IllegalArgumentException("the Dense module takes " + inFeatures + " values, the pooling gives " + x.length);
        }
        float[] y = Ops.linear(x, 1, weight, bias);
        if (activation != Function.IDENTITY) {
            for (int i = 0; i < y.length; i++) {
                y[i] = (float) activation.apply(y[i]);
            }
        }
        return y;
    }
}
