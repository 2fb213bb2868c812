package dev.xlmr.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
        String text;
        try {
            text = Files.readString(configJson);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(configJson + ": no such file");
        } catch (IOException e) {
            throw new CheckpointException(configJson + ": " + e.getMessage(), e);
        }
        return parse(text, configJson.toString());
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
        String modelType = c.path("model_type").asText("");
        String family = switch (modelType) {
            case "xlm-roberta" -> "XLMRoberta";
            case "xlm-roberta-xl" -> "XLMRobertaXL";
            default -> throw new CheckpointException(source + ": model_type '" + modelType
                    + "' is not XLM-RoBERTa (expected xlm-roberta or xlm-roberta-xl)");
        };
        String architecture = family + "Model";
        JsonNode archs = c.get("architectures");
        if (archs != null && archs.isArray() && !archs.isEmpty()) {
            architecture = archs.get(0).asText();
        }
        Head head = Head.ofClassName(architecture, family);
        if (head == null) {
            throw new CheckpointException(source + ": architecture '" + architecture + "' is not one of the "
                    + modelType + " models (" + family + "Model, " + family + "ForMaskedLM, ...)");
        }
        String posType = c.path("position_embedding_type").asText("absolute");
        if (!posType.equals("absolute")) {
            throw new CheckpointException(source + ": position_embedding_type '" + posType + "' is not supported (only absolute)");
        }
        if (c.path("add_cross_attention").asBoolean(false)) {
            throw new CheckpointException(source + ": add_cross_attention (encoder-decoder use) is not supported");
        }
        String act = c.path("hidden_act").asText("gelu");
        Activation activation = Activation.of(act);
        if (activation == null) {
            throw new CheckpointException(source + ": hidden_act '" + act + "' is not supported (gelu, gelu_new, relu, silu)");
        }
        Map<Integer, String> id2label = new TreeMap<>();
        JsonNode i2l = c.get("id2label");
        if (i2l != null && i2l.isObject()) {
            for (Map.Entry<String, JsonNode> e : i2l.properties()) {
                try {
                    id2label.put(Integer.parseInt(e.getKey()), e.getValue().asText());
                } catch (NumberFormatException ex) {
                    throw new CheckpointException(source + ": id2label key '" + e.getKey() + "' is not an integer");
                }
            }
        }
        Map<String, Integer> label2id = new LinkedHashMap<>();
        JsonNode l2i = c.get("label2id");
        if (l2i != null && l2i.isObject()) {
            for (Map.Entry<String, JsonNode> e : l2i.properties()) {
                label2id.put(e.getKey(), e.getValue().asInt());
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
                c.path("layer_norm_eps").asDouble(1e-12),
                intField(c, "pad_token_id", 1, source),
                intField(c, "max_position_embeddings", 514, source),
                intField(c, "type_vocab_size", 1, source),
                c.path("is_decoder").asBoolean(false),
                numLabels, id2label, label2id,
                pt == null || pt.isNull() ? null : pt.asText(),
                c.path("tie_word_embeddings").asBoolean(true));
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
            throw new CheckpointException(source + ": " + name + " is not an integer: " + v);
        }
        return v.intValue();
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
