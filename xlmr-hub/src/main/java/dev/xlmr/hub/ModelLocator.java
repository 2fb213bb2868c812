package dev.xlmr.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Turns a model argument into a local folder: a folder is used as is, a hub id is downloaded
 * into the shared cache (only the files an XLM-R model needs) or found there.
 *
 * <pre>{@code
 * Path dir = ModelLocator.resolve("intfloat/multilingual-e5-base", "main");
 * Path same = ModelLocator.resolve(dir.toString(), null); // a folder: returned as is
 * }</pre>
 *
 * Downloaded: {@code config.json}; {@code tokenizer.json} and {@code sentencepiece.bpe.model} (those
 * present); {@code tokenizer_config.json}, {@code special_tokens_map.json}; the weights as
 * {@code model.safetensors}, else {@code model.safetensors.index.json} and its shards, else
 * {@code pytorch_model.bin}; and the sentence-transformers files {@code modules.json},
 * {@code sentence_bert_config.json}, {@code config_sentence_transformers.json} and the files of the
 * module folders that {@code modules.json} lists (e.g. {@code 1_Pooling/config.json}); BGE-M3's
 * {@code sparse_linear.pt} and {@code colbert_linear.pt} where the repository has them.
 */
public final class ModelLocator {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String INDEX = "model.safetensors.index.json";
    private static final List<String> OPTIONAL = List.of("tokenizer.json", "sentencepiece.bpe.model",
            "tokenizer_config.json", "special_tokens_map.json", "modules.json", "sentence_bert_config.json",
            "config_sentence_transformers.json", "sparse_linear.pt", "colbert_linear.pt");

    private ModelLocator() {}

    /** Resolves with a client configured from the process environment ({@link HubClient#fromEnvironment()}). */
    public static Path resolve(String modelOrPath, String revision) {
        Path local = localFolder(modelOrPath);
        return local != null ? local : resolve(HubClient.fromEnvironment(), modelOrPath, revision);
    }

    /**
     * Resolves a local folder or a hub id ({@code org/name}) at a revision (branch, tag or commit
     * hash; null means {@code main}). A cached snapshot that has all the model's files is used
     * without any request.
     *
     * @throws HubException when the id is invalid, the download fails, or offline and not cached
     */
    public static Path resolve(HubClient hub, String modelOrPath, String revision) {
        Path local = localFolder(modelOrPath);
        if (local != null) {
            return local;
        }
        if (looksLikePath(modelOrPath)) {
            throw new HubException("no such model folder: " + modelOrPath);
        }
        if (modelOrPath == null || !modelOrPath.matches("[^/]+(/[^/]+)?")) {
            throw new HubException("'" + modelOrPath + "' is neither a folder nor a hub model id like org/name");
        }
        String repo = CacheLayout.checkRepoId(modelOrPath);
        String rev = HubClient.revisionOrMain(revision);
        Optional<Path> cached = hub.cachedSnapshot(repo, rev);
        List<String> missing = cached.map(ModelLocator::missing).orElse(List.of());
        if (cached.isPresent() && missing.isEmpty()) {
            return cached.get();
        }
        if (hub.offline()) {
            throw hub.offlineMissing(repo, rev, cached.isEmpty()
                    ? "no " + rev + " in " + hub.cacheDir().resolve("models--" + repo.replace("/", "--")).resolve("refs")
                    : "missing " + String.join(", ", missing) + " in " + cached.get());
        }
        RepoInfo info = hub.repoInfo(repo, rev);
        Path dir = hub.snapshot(info, rev, firstFiles(info));
        List<String> more = moreFiles(info, dir);
        return more.isEmpty() ? dir : hub.snapshot(info, rev, more);
    }

    private static Path localFolder(String modelOrPath) {
        if (modelOrPath == null || modelOrPath.isBlank()) {
            throw new HubException("no model given: expected a folder or a hub model id like org/name");
        }
        try {
            Path p = Path.of(modelOrPath.startsWith("~/")
                    ? System.getProperty("user.home") + modelOrPath.substring(1) : modelOrPath);
            return Files.isDirectory(p) ? p : null;
        } catch (InvalidPathException e) {
            return null;
        }
    }

    private static boolean looksLikePath(String s) {
        return s.startsWith("/") || s.startsWith("./") || s.startsWith("../") || s.startsWith("~") || s.equals(".")
                || s.equals("..") || s.contains("\\") || s.chars().filter(c -> c == '/').count() > 1
                || (s.length() > 1 && s.charAt(1) == ':');
    }

    /** Everything but the shards and module folders, which depend on files downloaded here. */
    private static List<String> firstFiles(RepoInfo info) {
        String where = info.repoId() + "@" + info.commit();
        if (!info.has("config.json")) {
            throw new HubException(where + " has no config.json: not a transformers model repository");
        }
        if (!info.has("tokenizer.json") && !info.has("sentencepiece.bpe.model")) {
            throw new HubException(where + " has no tokenizer (tokenizer.json or sentencepiece.bpe.model)");
        }
        List<String> files = new ArrayList<>(List.of("config.json"));
        OPTIONAL.stream().filter(info::has).forEach(files::add);
        if (info.has("model.safetensors")) {
            files.add("model.safetensors");
        } else if (info.has(INDEX)) {
            files.add(INDEX);
        } else if (info.has("pytorch_model.bin")) {
            files.add("pytorch_model.bin");
        } else {
            throw new HubException(where + " has no weights (model.safetensors, " + INDEX + " or pytorch_model.bin)");
        }
        return files;
    }

    private static List<String> moreFiles(RepoInfo info, Path dir) {
        Set<String> files = new LinkedHashSet<>();
        if (CacheLayout.present(dir.resolve(INDEX)) && !info.has("model.safetensors")) {
            files.addAll(shards(dir));
        }
        if (info.has("modules.json")) {
            for (Module m : modules(dir)) {
                info.files().stream().filter(f -> f.startsWith(m.path() + "/")).forEach(files::add);
            }
        }
        return List.copyOf(files);
    }

    /** What a cached snapshot lacks to be a complete model (empty: complete). */
    static List<String> missing(Path dir) {
        List<String> missing = new ArrayList<>();
        if (!CacheLayout.present(dir.resolve("config.json"))) {
            missing.add("config.json");
        }
        if (!CacheLayout.present(dir.resolve("tokenizer.json")) && !CacheLayout.present(dir.resolve("sentencepiece.bpe.model"))) {
            missing.add("tokenizer.json or sentencepiece.bpe.model");
        }
        if (!CacheLayout.present(dir.resolve("model.safetensors")) && !CacheLayout.present(dir.resolve("pytorch_model.bin"))) {
            if (CacheLayout.present(dir.resolve(INDEX))) {
                shards(dir).stream().filter(s -> !CacheLayout.present(dir.resolve(s))).forEach(missing::add);
            } else {
                missing.add("model.safetensors or pytorch_model.bin");
            }
        }
        if (CacheLayout.present(dir.resolve("modules.json"))) {
            for (Module m : modules(dir)) {
                // Normalize has no files; the other modules (Pooling, Dense, ...) have a config.json
                if (!m.type().endsWith("Normalize") && !CacheLayout.present(dir.resolve(m.path()).resolve("config.json"))) {
                    missing.add(m.path() + "/config.json");
                }
            }
        }
        return missing;
    }

    private record Module(String path, String type) {}

    private static List<Module> modules(Path dir) {
        List<Module> modules = new ArrayList<>();
        for (JsonNode m : readJson(dir.resolve("modules.json"))) {
            String path = m.path("path").asText("");
            if (!path.isEmpty()) {
                modules.add(new Module(CacheLayout.checkRelative("module path", path), m.path("type").asText("")));
            }
        }
        return modules;
    }

    private static Set<String> shards(Path dir) {
        Set<String> shards = new TreeSet<>();
        readJson(dir.resolve(INDEX)).path("weight_map")
                .forEach(f -> shards.add(CacheLayout.checkRelative("shard name", f.asText())));
        if (shards.isEmpty()) {
            throw new HubException(dir.resolve(INDEX) + " lists no shards in its weight_map");
        }
        return shards;
    }

    private static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new HubException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
