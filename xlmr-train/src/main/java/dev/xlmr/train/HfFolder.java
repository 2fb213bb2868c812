package dev.xlmr.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.xlmr.model.CheckpointException;
import dev.xlmr.model.Head;
import dev.xlmr.model.ModelConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Hugging Face model folders for training: a checkpoint opened for a task (its encoder, and the
 * task's head kept when the checkpoint has it for the same labels, else new as transformers
 * initialises it: Linear weights normal(0, initializer_range), zero biases, LayerNorm 1 and 0,
 * seeded), and a trained model saved as transformers' save_pretrained does: config.json with
 * architectures, id2label/label2id and problem_type, model.safetensors (F32, {@code roberta.}
 * prefixed encoder, no pooler unless the head uses it, the tied LM decoder left out) and the
 * tokenizer files.
 *
 * <pre>{@code
 * HfFolder m = HfFolder.open(Path.of("xlm-roberta-base"), Task.TEXT_CLASSIFICATION, List.of("neg", "pos"), null, 42);
 * m.save(Path.of("out"));
 * }</pre>
 */
public final class HfFolder {
    /** The tokenizer and other files copied from the source folder when present. */
    static final List<String> TOKENIZER_FILES = List.of("sentencepiece.bpe.model", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path source;
    private final ObjectNode rawConfig;
    private TrainableModel model;
    private FastModel fast;

    private HfFolder(Path source, ObjectNode rawConfig, TrainableModel model) {
        this.source = source;
        this.rawConfig = rawConfig;
        this.model = model;
    }

    /**
     * The model as the float64 reference; after {@link #useFast} a float64 copy of the fp32 model's
     * current weights (made on each call).
     */
    public TrainableModel model() {
        if (fast != null) {
            Map<String, Var> vars = new LinkedHashMap<>();
            fast.parameters().forEach((name, v) -> vars.put(name, new Var(v.shape(), v.toDouble())));
            return new TrainableModel(fast.config(), new Parameters(vars), fast.problemType());
        }
        return model;
    }

    /**
     * Moves the model to the fp32 training path on these kernels: its weights become fp32 master
     * weights (the float64 ones are dropped) and {@link #save} writes those.
     */
    public FastModel useFast(dev.xlmr.engine.Kernels kernels) {
        if (fast == null) {
            fast = FastModel.of(model, kernels);
            model = null;
        }
        return fast;
    }

    /** The folder the model was opened from (its tokenizer files are copied on save). */
    public Path source() {
        return source;
    }

    /** config.json as it will be written. */
    public ObjectNode config() {
        return rawConfig.deepCopy();
    }

    /** The label names of a checkpoint's config (id order) when its head is {@code head}, else null. */
    public static List<String> labelsOf(Path dir, Head head) {
        ModelConfig c = ModelConfig.load(dir.resolve("config.json"));
        if (c.head() != head || c.id2label().isEmpty()) {
            return null;
        }
        return new ArrayList<>(c.id2label().values());
    }

    /**
     * Opens a checkpoint for a task.
     *
     * @param labels the label names in id order (classification tasks; ignored by the others)
     * @param problemType the sequence-classification loss, or null
     * @param seed seeds the new head's initialisation
     * @throws CheckpointException when the folder is not an XLM-R checkpoint
     */
    public static HfFolder open(Path dir, Task task, List<String> labels, String problemType, long seed) {
        Path cfgFile = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgFile)) {
            throw new CheckpointException(dir + ": no config.json (expected a Hugging Face model folder)");
        }
        ModelConfig src = ModelConfig.load(cfgFile);
        ObjectNode raw;
        try {
            raw = (ObjectNode) JSON.readTree(Files.readString(cfgFile, StandardCharsets.UTF_8));
        } catch (IOException | ClassCastException e) {
            throw new CheckpointException(cfgFile + ": cannot read: " + e.getMessage());
        }
        Head head = task.head();
        boolean labelled = head == Head.SEQUENCE_CLASSIFICATION || head == Head.TOKEN_CLASSIFICATION;
        int numLabels = head == Head.SEQUENCE_CLASSIFICATION && "regression".equals(problemType) ? 1
                : labelled ? labels.size() : src.numLabels();
        List<String> srcLabels = new ArrayList<>(src.id2label().values());
        boolean keepHead = src.head() == head && (!labelled || (srcLabels.equals(labels) && src.numLabels() == numLabels));
        String family = src.preLayerNorm() ? "XLMRobertaXL" : "XLMRoberta";
        Map<Integer, String> id2label = new TreeMap<>();
        Map<String, Integer> label2id = new LinkedHashMap<>();
        if (labelled) {
            for (int i = 0; i < numLabels; i++) {
                String name = numLabels == labels.size() ? labels.get(i) : "LABEL_" + i;
                id2label.put(i, name);
                label2id.put(name, i);
            }
        } else {
            id2label.putAll(src.id2label());
            label2id.putAll(src.label2id());
        }
        String pt = head == Head.SEQUENCE_CLASSIFICATION ? problemType : src.problemType();
        ModelConfig config = new ModelConfig(src.modelType(), head.className(family), head, src.vocabSize(),
                src.hiddenSize(), src.numHiddenLayers(), src.numAttentionHeads(), src.intermediateSize(),
                src.hiddenAct(), src.layerNormEps(), src.padTokenId(), src.maxPositionEmbeddings(),
                src.typeVocabSize(), src.isDecoder(), numLabels, id2label, label2id, pt, src.tieWordEmbeddings());

        Parameters loaded = Parameters.load(dir, src);
        Map<String, Var> vars = new LinkedHashMap<>();
        for (Map.Entry<String, Var> e : loaded.all().entrySet()) {
            String name = e.getKey().startsWith("roberta.") ? e.getKey().substring(8) : e.getKey();
            boolean encoder = name.startsWith("embeddings.") || name.startsWith("encoder.");
            boolean pooler = name.startsWith("pooler.");
            if (encoder || (pooler && head == Head.MULTIPLE_CHOICE)) {
                vars.put("roberta." + name, e.getValue());
            } else if (keepHead && !pooler) {
                vars.put(e.getKey(), e.getValue());
            }
        }
        double std = raw.path("initializer_range").asDouble(0.02);
        Random rnd = new Random(seed);
        int h = src.hiddenSize();
        Map<String, int[]> fresh = new LinkedHashMap<>();
        if (head == Head.MULTIPLE_CHOICE && !vars.containsKey("roberta.pooler.dense.weight")) {
            dense(fresh, "roberta.pooler.dense", h, h);
        }
        if (!keepHead) {
            switch (head) {
                case SEQUENCE_CLASSIFICATION -> {
                    dense(fresh, "classifier.dense", h, h);
                    dense(fresh, "classifier.out_proj", numLabels, h);
                }
                case TOKEN_CLASSIFICATION -> dense(fresh, "classifier", numLabels, h);
                case QUESTION_ANSWERING -> dense(fresh, "qa_outputs", 2, h);
                case MULTIPLE_CHOICE -> dense(fresh, "classifier", 1, h);
                case MASKED_LM, CAUSAL_LM -> {
                    dense(fresh, "lm_head.dense", h, h);
                    fresh.put("lm_head.layer_norm.weight", new int[] {h});
                    fresh.put("lm_head.layer_norm.bias", new int[] {h});
                    fresh.put("lm_head.bias", new int[] {src.vocabSize()});
                    if (!src.tieWordEmbeddings()) {
                        fresh.put("lm_head.decoder.weight", new int[] {src.vocabSize(), h});
                    }
                }
                case BASE -> throw new IllegalArgumentException("no task trains a bare encoder");
            }
        }
        for (Map.Entry<String, int[]> e : fresh.entrySet()) {
            Var v = new Var(e.getValue());
            String n = e.getKey();
            if (n.endsWith(".weight") && !n.contains("layer_norm")) {
                for (int i = 0; i < v.size(); i++) {
                    v.data[i] = std * rnd.nextGaussian();
                }
            } else if (n.endsWith("layer_norm.weight")) {
                java.util.Arrays.fill(v.data, 1);
            }
            vars.put(n, v);
        }
        raw.set("architectures", JSON.createArrayNode().add(config.architecture()));
        raw.remove("num_labels");
        if (labelled) {
            ObjectNode i2l = raw.putObject("id2label");
            id2label.forEach((k, v) -> i2l.put(String.valueOf(k), v));
            ObjectNode l2i = raw.putObject("label2id");
            label2id.forEach(l2i::put);
        }
        if (head == Head.SEQUENCE_CLASSIFICATION) {
            if (pt == null) {
                raw.remove("problem_type");
            } else {
                raw.put("problem_type", pt);
            }
        }
        raw.put("torch_dtype", "float32");
        return new HfFolder(dir, raw, new TrainableModel(config, new Parameters(vars), pt));
    }

    private static void dense(Map<String, int[]> shapes, String prefix, int out, int in) {
        shapes.put(prefix + ".weight", new int[] {out, in});
        shapes.put(prefix + ".bias", new int[] {out});
    }

    /**
     * Writes config.json, model.safetensors and the source's tokenizer files into {@code dir}, each
     * file written beside its target and moved into place.
     */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<String, Safetensors.Entry> tensors = new LinkedHashMap<>();
        if (fast != null) {
            new TreeMap<>(fast.parameters()).forEach((name, v) -> tensors.put(name, Safetensors.Entry.ofFloats(v.shape(), v.data)));
        } else {
            new TreeMap<>(model.parameters().all()).forEach((name, v) -> tensors.put(name, new Safetensors.Entry(v.shape(), v.data)));
        }
        Safetensors.writeF32(dir.resolve("model.safetensors"), tensors);
        writeAtomically(dir.resolve("config.json"), JSON.writeValueAsString(rawConfig) + "\n");
        for (String f : TOKENIZER_FILES) {
            Path from = source.resolve(f);
            if (Files.isRegularFile(from) && !from.toAbsolutePath().normalize().equals(dir.resolve(f).toAbsolutePath().normalize())) {
                Path tmp = dir.resolve("." + f + ".tmp");
                Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
        }
    }

    static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The value of config.json's field, for callers that need more than {@link ModelConfig} holds. */
    JsonNode raw(String field) {
        return rawConfig.path(field);
    }
}
