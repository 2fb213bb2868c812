package dev.xlmr.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The fields of a Hugging Face {@code config.json} that change the math of XLM-R, for
 * {@code model_type} "xlm-roberta" (post-LayerNorm) and "xlm-roberta-xl" (pre-LayerNorm).
 *
 * <pre>{@code
 * ModelConfig c = ModelConfig.load(Path.of("xlmr-base/config.json"));
 * int hidden = c.hiddenSize();
 * }</pre>
 *
 * @param modelType "xlm-roberta" or "xlm-roberta-xl"
 * @param architecture the transformers class, e.g. "XLMRobertaForSequenceClassification"
 *     ("XLMRobertaModel" when config.json names none)
 * @param head what the architecture puts on the encoder
 * @param hiddenAct the activation of the feed-forward layers
 * @param numLabels classifier outputs (the size of id2label when given, else num_labels, else 2)
 * @param id2label label names by index (empty when the config has none)
 * @param problemType "regression", "single_label_classification", ... or null
 * @param tieWordEmbeddings whether an absent LM decoder uses the word embeddings (the default)
 */
public record ModelConfig(
        String modelType,
        String architecture,
        Head head,
        int vocabSize,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int intermediateSize,
        Activation hiddenAct,
        double layerNormEps,
        int padTokenId,
        int maxPositionEmbeddings,
        int typeVocabSize,
        boolean isDecoder,
        int numLabels,
        Map<Integer, String> id2label,
        Map<String, Integer> label2id,
        String problemType,
        boolean tieWordEmbeddings) {

    public ModelConfig {
        id2label = Collections.unmodifiableMap(new TreeMap<>(id2label));
        label2id = Collections.unmodifiableMap(new LinkedHashMap<>(label2id));
    }

    /** Whether LayerNorm comes before attention and feed-forward (XLM-R XL and XXL). */
    public boolean preLayerNorm() {
        return modelType.equals("xlm-roberta-xl");
    }

    /** Size of one attention head. */
    public int headSize() {
        return hiddenSize / numAttentionHeads;
    }

    /** The longest sequence the position embeddings allow: positions run from pad_token_id + 1. */
    public int maxSequenceLength() {
        return maxPositionEmbeddings - padTokenId - 1;
    }

    /** Reads a config.json file. */
    public static ModelConfig load(Path configJson) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(configJson);
        } catch (IOException e) {
            throw new CheckpointException(configJson + ": " + JsonTree.readProblem(e), e);
        }
        return parse(JsonTree.utf8(bytes, configJson.toString()), configJson.toString());
    }

    /** Parses config.json text; {@code source} names it in error messages. */
    public static ModelConfig parse(String json, String source) {
        JsonNode c;
        try {
            c = JsonTree.parse(json);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(source + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (c == null || !c.isObject()) {
            throw new CheckpointException(source + ": not a JSON object");
        }
        String modelType = text(c, "model_type", "", source);
        String family = switch (modelType) {
            case "xlm-roberta" -> "XLMRoberta";
            case "xlm-roberta-xl" -> "XLMRobertaXL";
            default -> throw new CheckpointException(source + ": model_type " + show(modelType)
                    + " is not XLM-RoBERTa (expected xlm-roberta or xlm-roberta-xl)");
        };
        String architecture = family + "Model";
        JsonNode archs = c.get("architectures");
        if (archs != null && archs.isArray() && !archs.isEmpty()) {
            if (!archs.get(0).isTextual()) {
                throw new CheckpointException(source + ": architectures[0] is not a string: " + show(archs.get(0)));
            }
            architecture = archs.get(0).asText();
        }
        Head head = Head.ofClassName(architecture, family);
        if (head == null) {
            throw new CheckpointException(source + ": architecture " + show(architecture) + " is not one of the "
                    + modelType + " models (" + family + "Model, " + family + "ForMaskedLM, ...)");
        }
        String posType = text(c, "position_embedding_type", "absolute", source);
        if (!posType.equals("absolute")) {
            throw new CheckpointException(source + ": position_embedding_type " + show(posType)
                    + " is not supported (only absolute)");
        }
        if (bool(c, "add_cross_attention", false, source)) {
            throw new CheckpointException(source + ": add_cross_attention (encoder-decoder use) is not supported");
        }
        String act = text(c, "hidden_act", "gelu", source);
        Activation activation = Activation.of(act);
        if (activation == null) {
            throw new CheckpointException(source + ": hidden_act " + show(act) + " is not supported (gelu, gelu_new, relu, silu)");
        }
        Map<Integer, String> id2label = id2label(c.get("id2label"), source);
        Map<String, Integer> label2id = new LinkedHashMap<>();
        JsonNode l2i = c.get("label2id");
        if (l2i != null && !l2i.isNull()) {
            if (!l2i.isObject()) {
                throw new CheckpointException(source + ": label2id is not an object");
            }
            for (Map.Entry<String, JsonNode> e : l2i.properties()) {
                JsonNode v = e.getValue();
                if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                    throw new CheckpointException(source + ": label2id[" + show(e.getKey()) + "] is not an integer: "
                            + show(v));
                }
                label2id.put(e.getKey(), v.intValue());
            }
        }
        int numLabels = !id2label.isEmpty() ? id2label.size() : intField(c, "num_labels", 2, source);
        JsonNode pt = c.get("problem_type");
        ModelConfig config = new ModelConfig(
                modelType, architecture, head,
                intField(c, "vocab_size", -1, source),
                intField(c, "hidden_size", -1, source),
                intField(c, "num_hidden_layers", -1, source),
                intField(c, "num_attention_heads", -1, source),
                intField(c, "intermediate_size", -1, source),
                activation,
                number(c, "layer_norm_eps", 1e-12, source),
                intField(c, "pad_token_id", 1, source),
                intField(c, "max_position_embeddings", 514, source),
                intField(c, "type_vocab_size", 1, source),
                bool(c, "is_decoder", false, source),
                numLabels, id2label, label2id,
                pt == null || pt.isNull() ? null : text(c, "problem_type", null, source),
                bool(c, "tie_word_embeddings", true, source));
        config.check(source);
        return config;
    }

    private static int intField(JsonNode c, String name, int fallback, String source) {
        JsonNode v = c.get(name);
        if (v == null || v.isNull()) {
            if (fallback < 0) {
                throw new CheckpointException(source + ": missing " + name);
            }
            return fallback;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new CheckpointException(source + ": " + name + " is not an integer: " + show(v));
        }
        return v.intValue();
    }

    /**
     * id2label as transformers uses it: keys are the classifier's output indexes, so they must be
     * exactly 0..n-1 (a sparse or duplicated key would leave an output without its name).
     */
    private static Map<Integer, String> id2label(JsonNode i2l, String source) {
        Map<Integer, String> out = new TreeMap<>();
        if (i2l == null || i2l.isNull()) {
            return out;
        }
        if (!i2l.isObject()) {
            throw new CheckpointException(source + ": id2label is not an object");
        }
        for (Map.Entry<String, JsonNode> e : i2l.properties()) {
            String k = e.getKey();
            int id;
            try {
                id = Integer.parseInt(k.strip());
            } catch (NumberFormatException ex) {
                throw new CheckpointException(source + ": id2label key " + show(k) + " is not an integer");
            }
            if (id < 0 || id >= i2l.size()) {
                throw new CheckpointException(source + ": id2label key " + show(k) + " is outside 0.." + (i2l.size() - 1)
                        + "; the keys must be the label indexes 0 to n-1");
            }
            if (!e.getValue().isTextual()) {
                throw new CheckpointException(source + ": id2label[" + show(k) + "] is not a string: " + show(e.getValue()));
            }
            if (out.put(id, e.getValue().asText()) != null) {
                throw new CheckpointException(source + ": id2label has label " + id + " twice");
            }
        }
        return out;
    }

    private static String text(JsonNode c, String name, String fallback, String source) {
        JsonNode v = c.get(name);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isTextual()) {
            throw new CheckpointException(source + ": " + name + " is not a string: " + show(v));
        }
        return v.asText();
    }

    private static boolean bool(JsonNode c, String name, boolean fallback, String source) {
        JsonNode v = c.get(name);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isBoolean()) {
            throw new CheckpointException(source + ": " + name + " is not true or false: " + show(v));
        }
        return v.booleanValue();
    }

    /** A float field: a JSON number (a string such as "1e-5" is refused, not coerced). */
    private static double number(JsonNode c, String name, double fallback, String source) {
        JsonNode v = c.get(name);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber()) {
            throw new CheckpointException(source + ": " + name + " is not a number: " + show(v));
        }
        return v.doubleValue();
    }

    /** A value for a message, cut short: a hostile file's 5 MB string is not echoed back. */
    private static String show(JsonNode v) {
        return v == null ? "(none)" : cut(v.toString());
    }

    private static String show(String s) {
        return cut("'" + s + "'");
    }

    private static String cut(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    private void check(String source) {
        if (vocabSize <= 0 || hiddenSize <= 0 || numHiddenLayers <= 0 || numAttentionHeads <= 0 || intermediateSize <= 0
                || typeVocabSize <= 0 || maxPositionEmbeddings <= 0) {
            throw new CheckpointException(source + ": sizes must be positive");
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw new CheckpointException(source + ": hidden_size " + hiddenSize
                    + " is not a multiple of num_attention_heads " + numAttentionHeads);
        }
        if (padTokenId < 0 || padTokenId >= vocabSize) {
            throw new CheckpointException(source + ": pad_token_id " + padTokenId + " is outside the vocabulary");
        }
        if (maxSequenceLength() < 1) {
            throw new CheckpointException(source + ": max_position_embeddings " + maxPositionEmbeddings
                    + " leaves no room after pad_token_id " + padTokenId);
        }
        if (!(layerNormEps > 0) || Double.isInfinite(layerNormEps)) {
            throw new CheckpointException(source + ": layer_norm_eps must be positive");
        }
        if (numLabels < 1) {
            throw new CheckpointException(source + ": num_labels must be positive");
        }
    }
}
