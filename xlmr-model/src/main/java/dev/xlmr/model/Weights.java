package dev.xlmr.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tensors of a checkpoint by their stored names, memory-mapped. Reads {@code model.safetensors},
 * a sharded {@code model.safetensors.index.json}, {@code pytorch_model.bin} or a sharded
 * {@code pytorch_model.bin.index.json}, in that order of preference. Closing it unmaps the files, so
 * tensors from it must not be used afterwards.
 *
 * <pre>{@code
 * try (Weights w = Weights.open(Path.of("xlmr-base"))) {
 *     Tensor emb = w.get("embeddings.word_embeddings.weight");
 * }
 * }</pre>
 */
public final class Weights implements AutoCloseable {
    /** The weight files looked for in a folder, preferred first. */
    public static final String[] FILE_NAMES = {
        "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"
    };

    private final Path source;
    private final Arena arena;
    private final Map<String, StoredTensor> stored;
    private final Map<String, Tensor> floats = new ConcurrentHashMap<>();

    private Weights(Path source, Arena arena, Map<String, StoredTensor> stored) {
        this.source = source;
        this.arena = arena;
        this.stored = stored;
    }

    /**
     * Opens the weights of a model folder, or one weight file (.safetensors, .bin or an index.json).
     *
     * @throws CheckpointException when there are none or a file is damaged
     */
    public static Weights open(Path path) {
        Path file = path;
        if (!Files.exists(path)) {
            throw new CheckpointException(path + ": no such file or folder");
        }
        if (Files.isDirectory(path)) {
            file = null;
            for (String name : FILE_NAMES) {
                if (Files.isRegularFile(path.resolve(name))) {
                    file = path.resolve(name);
                    break;
                }
            }
            if (file == null) {
                throw new CheckpointException(path + ": no model weights (looked for " + String.join(", ", FILE_NAMES) + ")");
            }
        }
        Arena arena = Arena.ofShared();
        try {
            return new Weights(file, arena, readAny(file, arena));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Map<String, StoredTensor> readAny(Path file, Arena arena) {
        String name = file.getFileName().toString();
        if (name.endsWith(".index.json")) {
            return readSharded(file, arena);
        }
        if (name.endsWith(".safetensors")) {
            return SafetensorsFile.read(file, arena);
        }
        if (name.endsWith(".bin") || name.endsWith(".pt") || name.endsWith(".pth")) {
            return TorchCheckpoint.read(file, arena);
        }
        throw new CheckpointException(file + ": unknown weight file type (expected .safetensors, .bin or .index.json)");
    }

    /** An index {"weight_map": {tensor: shard file}}: opens each shard once, keeps the mapped names. */
    private static Map<String, StoredTensor> readSharded(Path index, Arena arena) {
        JsonNode root = JsonTree.readFile(index);
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new CheckpointException(index + ": shard index without a weight_map object");
        }
        Path dir = index.toAbsolutePath().getParent();
        Map<String, Map<String, StoredTensor>> shards = new LinkedHashMap<>();
        Map<String, StoredTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            if (!e.getValue().isTextual()) {
                throw new CheckpointException(index + ": weight_map['" + e.getKey() + "'] is not a file name");
            }
            String shard = e.getValue().asText();
            Path shardPath = dir.resolve(shard).normalize();
            if (shard.isEmpty() || !shardPath.getParent().equals(dir.normalize())) {
                throw new CheckpointException(index + ": shard name '" + shard + "' must be a file next to the index");
            }
            // a shard is a tensor file: an index naming an index (itself or another) would recurse without end
            if (!shard.endsWith(".safetensors") && !shard.endsWith(".bin")) {
                throw new CheckpointException(index + ": weight_map['" + e.getKey() + "'] names '" + shard
                        + "'; a shard must be a .safetensors or .bin file");
            }
            Map<String, StoredTensor> tensors = shards.computeIfAbsent(shard, s -> readAny(shardPath, arena));
            StoredTensor t = tensors.get(e.getKey());
            if (t == null) {
                throw new CheckpointException(index + ": tensor '" + e.getKey() + "' is not in its shard " + shard);
            }
            out.put(e.getKey(), t);
        }
        return out;
    }

    /** The file the weights came from (the index for sharded checkpoints). */
    public Path source() {
        return source;
    }

    /** All stored tensor names, in file order. */
    public Set<String> names() {
        return Collections.unmodifiableSet(new LinkedHashSet<>(stored.keySet()));
    }

    public boolean contains(String name) {
        return stored.containsKey(name);
    }

    /** The stored shape of a tensor, without converting it. */
    public int[] shape(String name) {
        return stored(name).shape().clone();
    }

    /**
     * The fp32 view of a tensor: F32 in place, F16/BF16/F64 converted once and cached.
     *
     * @throws CheckpointException when absent or not a float tensor
     */
    public Tensor get(String name) {
        return floats.computeIfAbsent(name, n -> stored(n).toFloat());
    }

    private StoredTensor stored(String name) {
        StoredTensor t = stored.get(name);
        if (t == null) {
            throw new CheckpointException(source.getFileName() + ": no tensor '" + name + "'");
        }
        return t;
    }

    /** Unmaps the files. */
    @Override
    public void close() {
        floats.clear();
        arena.close();
    }
}
