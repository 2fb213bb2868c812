package dev.xlmr.hub;

import java.util.List;

/**
 * A model repository at one commit, as listed by {@code GET /api/models/{repo}/revision/{rev}}.
 *
 * <pre>{@code
 * RepoInfo info = HubClient.fromEnvironment().repoInfo("intfloat/multilingual-e5-base", "main");
 * boolean safetensors = info.files().contains("model.safetensors");
 * }</pre>
 *
 * @param repoId the repository id, e.g. {@code org/name}
 * @param commit the full commit hash the revision points to
 * @param files  the repository's files (paths relative to its root)
 */
public record RepoInfo(String repoId, String commit, List<String> files) {
    public RepoInfo {
        files = List.copyOf(files);
    }

    /** Whether the repository has this file. */
    public boolean has(String file) {
        return files.contains(file);
    }
}
