package dev.xlmr.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.xlmr.model.Batch;
import dev.xlmr.model.Head;
import dev.xlmr.model.ModelOutput;
import dev.xlmr.model.NdArray;
import dev.xlmr.model.XlmRobertaModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code xlmr forward --model DIR}: runs the reference model on JSON lines from stdin and writes one
 * JSON line of outputs (named as in transformers) per input line.
 *
 * <pre>{@code
 * echo '{"input_ids": [[0, 581, 2]], "attention_mask": [[1, 1, 1]]}' | ./xlmr forward --model xlmr-seqcls
 * {"last_hidden_state":[[[...]]],"logits":[[0.19,-0.05,0.11]]}
 * }</pre>
 *
 * For multiple choice the arrays are {@code [batch][choices][seq]}; {@code token_type_ids} and
 * {@code attention_mask} are optional. {@code --output-hidden-states} / {@code --output-attentions} (or
 * {@code "output_hidden_states": true} / {@code "output_attentions": true} in a line) add transformers'
 * {@code hidden_states} {@code [layers + 1][rows][seq][hidden]} and {@code attentions}
 * {@code [layers][rows][heads][seq][seq]}. A bad line is reported with its number on stderr and the
 * others still run; the exit code is then 1.
 */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = {"Run the model on JSON lines {\"input_ids\": [[...]], \"attention_mask\": [[...]]} from stdin.",
                "Example:",
                "  echo '{\"input_ids\": [[0, 581, 2]]}' | ./xlmr forward --model testdata/xlmr-base --output-hidden-states"})
final class ForwardCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model folder.")
    Path model;

    @Option(names = "--output-hidden-states",
            description = "Add hidden_states [layers + 1][rows][seq][hidden]: the embeddings' output, then each layer's.")
    boolean hiddenStates;

    @Option(names = "--output-attentions",
            description = "Add attentions [layers][rows][heads][seq][seq]: each layer's softmax probabilities.")
    boolean attentions;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        try (XlmRobertaModel m = XlmRobertaModel.load(model)) {
            boolean choices = m.config().head() == Head.MULTIPLE_CHOICE;
            return JsonLines.process(spec.commandLine().getOut(), spec.commandLine().getErr(), input -> {
                java.io.StringWriter sw = new java.io.StringWriter();
                try (JsonGenerator gen = JsonLines.JSON.getFactory().createGenerator(sw)) {
                    write(gen, m.forward(parse(input, choices), flag(input, "output_hidden_states", hiddenStates),
                            flag(input, "output_attentions", attentions)));
                }
                return new JsonLines.Raw(sw.toString());
            });
        }
    }

    /** A line's boolean field, else the command-line default. */
    private static boolean flag(JsonNode root, String name, boolean fallback) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isBoolean()) {
            throw new IllegalArgumentException(name + " must be true or false");
        }
        return v.booleanValue();
    }

    private static Batch parse(JsonNode root, boolean choices) {
        if (!root.has("input_ids")) {
            throw new IllegalArgumentException("expected an object with input_ids");
        }
        if (choices) {
            return Batch.ofChoices(ints3(root.get("input_ids"), "input_ids"),
                    ints3(root.get("attention_mask"), "attention_mask"), ints3(root.get("token_type_ids"), "token_type_ids"));
        }
        return Batch.of(ints2(root.get("input_ids"), "input_ids"),
                ints2(root.get("attention_mask"), "attention_mask"), ints2(root.get("token_type_ids"), "token_type_ids"));
    }

    private static int[][][] ints3(JsonNode a, String name) {
        if (a == null || a.isNull()) {
            return null;
        }
        if (!a.isArray()) {
            throw new IllegalArgumentException(name + " must be a [batch][choices][seq] array of integers");
        }
        int[][][] out = new int[a.size()][][];
        for (int i = 0; i < out.length; i++) {
            out[i] = ints2(a.get(i), name + "[" + i + "]");
        }
        return out;
    }

    private static int[][] ints2(JsonNode a, String name) {
        if (a == null || a.isNull()) {
            return null;
        }
        if (!a.isArray()) {
            throw new IllegalArgumentException(name + " must be an array of arrays of integers");
        }
        int[][] out = new int[a.size()][];
        for (int i = 0; i < out.length; i++) {
            JsonNode row = a.get(i);
            if (!row.isArray()) {
                throw new IllegalArgumentException(name + "[" + i + "] must be an array of integers");
            }
            out[i] = new int[row.size()];
            for (int j = 0; j < out[i].length; j++) {
                JsonNode v = row.get(j);
                if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                    throw new IllegalArgumentException(name + "[" + i + "][" + j + "] is not an integer: " + v);
                }
                out[i][j] = v.intValue();
            }
        }
        return out;
    }

    private static void write(JsonGenerator gen, ModelOutput result) throws IOException {
        gen.writeStartObject();
        for (Map.Entry<String, NdArray> e : result.asMap().entrySet()) {
            gen.writeFieldName(e.getKey());
            NdArray a = e.getValue();
            writeNested(gen, a.shape(), 0, a.data(), 0);
        }
        gen.writeEndObject();
    }

    /** Writes data[offset ...] as nested arrays of shape[dim ...]; returns the next offset. */
    private static int writeNested(JsonGenerator gen, int[] shape, int dim, float[] data, int offset) throws IOException {
        gen.writeStartArray();
        if (dim == shape.length - 1) {
            for (int i = 0; i < shape[dim]; i++) {
                gen.writeNumber(data[offset++]);
            }
        } else {
            for (int i = 0; i < shape[dim]; i++) {
                offset = writeNested(gen, shape, dim + 1, data, offset);
            }
        }
        gen.writeEndArray();
        return offset;
    }
}
