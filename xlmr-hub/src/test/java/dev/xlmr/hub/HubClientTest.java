package dev.xlmr.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HubClientTest {
    static final String REPO = "xlmr/xlmr-base";
    static final Path BASE = FakeHub.testdata("xlmr-base");
    /** What ModelLocator takes from xlmr-base: safetensors wins over pytorch_model.bin, no expected.json. */
    static final Set<String> BASE_FILES = Set.of("1_Pooling/config.json", "config.json", "model.safetensors",
            "modules.json", "sentence_bert_config.json", "sentencepiece.bpe.model", "special_tokens_map.json",
            "tokenizer.json", "tokenizer_config.json");

    @TempDir
    Path tmp;
    FakeHub hub;
    String main;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub();
        main = hub.addCommit(REPO, BASE, "main");
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    Map<String, String> env(String... extra) {
        Map<String, String> env = new HashMap<>(Map.of("HF_ENDPOINT", hub.endpoint(),
                "HF_HUB_CACHE", tmp.resolve("cache").toString(), "HF_HOME", tmp.resolve("hf-home").toString()));
        for (int i = 0; i < extra.length; i += 2) {
            env.put(extra[i], extra[i + 1]);
        }
        return env;
    }

    HubClient client(String... extra) {
        return HubClient.builder().environment(env(extra)).backoff(Duration.ofMillis(1)).progress(false).build();
    }

    Path repoDir() {
        return tmp.resolve("cache/models--xlmr--xlmr-base");
    }

    static Set<String> filesUnder(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> !Files.isDirectory(p)).map(p -> dir.relativize(p).toString().replace('\\', '/'))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    @Test
    void firstDownloadFillsThePythonLayoutExactly() throws IOException {
        Path dir = ModelLocator.resolve(client(), REPO, null);

        assertEquals(repoDir().resolve("snapshots").resolve(main), dir);
        assertEquals(main, Files.readString(repoDir().resolve("refs/main")));
        assertEquals(BASE_FILES, filesUnder(dir));
        Set<String> blobs = new TreeSet<>();
        for (String f : BASE_FILES) {
            Path pointer = dir.resolve(f);
            byte[] content = Files.readAllBytes(BASE.resolve(f));
            String etag = FakeHub.etagOf(f, content);
            blobs.add(etag);
            assertTrue(Files.isSymbolicLink(pointer), f);
            Path target = Files.readSymbolicLink(pointer);
            assertFalse(target.isAbsolute(), f);
            String up = "../".repeat(f.split("/").length + 1);
            assertEquals(Path.of(up + "blobs/" + etag), target, f);
            assertArrayEquals(content, Files.readAllBytes(pointer), f);
        }
        assertEquals(blobs, filesUnder(repoDir().resolve("blobs")));
        assertEquals(Set.of("main"), filesUnder(repoDir().resolve("refs")));
        assertTrue(Files.readString(tmp.resolve("cache/CACHEDIR.TAG")).startsWith("Signature: 8a477f597d28d172789f06886806bc55\n"));
        // one listing, one HEAD per file, one GET per file (LFS ones via the CDN)
        assertEquals(1, hub.hubRequests().stream().filter(r -> r.path().startsWith("/api/")).count());
        assertEquals(BASE_FILES.size(), hub.hubRequests().stream().filter(r -> r.method().equals("HEAD")).count());
        assertEquals(2, hub.cdnRequests().size()); // model.safetensors and sentencepiece.bpe.model; no .bin
    }

    @Test
    void aCachedModelNeedsNoRequest() throws IOException {
        Path first = ModelLocator.resolve(client(), REPO, "main");
        int before = hub.requests.size();
        Path again = ModelLocator.resolve(client(), REPO, "main");
        Path viaSnapshot = client().snapshot(REPO, "main", List.of("config.json", "1_Pooling/config.json"));
        assertEquals(first, again);
        assertEquals(first, viaSnapshot);
        assertEquals(before, hub.requests.size());
    }

    @Test
    void resumesAPartialDownloadWithRange() throws IOException {
        byte[] content = Files.readAllBytes(BASE.resolve("model.safetensors"));
        String sha = FakeHub.hex("SHA-256", content);
        Path incomplete = repoDir().resolve("blobs").resolve(sha + ".incomplete");
        Files.createDirectories(incomplete.getParent());
        Files.write(incomplete, java.util.Arrays.copyOf(content, 100_000));

        Path dir = client().snapshot(REPO, "main", List.of("model.safetensors"));

        assertArrayEquals(content, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertEquals(List.of("bytes=100000-"), hub.cdnRequests().stream().map(FakeHub.Request::range).toList());
        assertEquals(content.length - 100_000, hub.cdnBytesSent.get());
        assertFalse(Files.exists(incomplete));
    }

    @Test
    void restartsWhenTheServerIgnoresRange() throws IOException {
        hub.ignoreRange = true;
        byte[] content = Files.readAllBytes(BASE.resolve("model.safetensors"));
        Path incomplete = repoDir().resolve("blobs").resolve(FakeHub.hex("SHA-256", content) + ".incomplete");
        Files.createDirectories(incomplete.getParent());
        Files.write(incomplete, java.util.Arrays.copyOf(content, 5_000));

        Path dir = client().snapshot(REPO, "main", List.of("model.safetensors"));
        assertArrayEquals(content, Files.readAllBytes(dir.resolve("model.safetensors")));
    }

    @Test
    void aDroppedConnectionIsResumed() throws IOException {
        hub.dropAfter.set(300_000);
        Path dir = client().snapshot(REPO, "main", List.of("model.safetensors"));
        assertArrayEquals(Files.readAllBytes(BASE.resolve("model.safetensors")), Files.readAllBytes(dir.resolve("model.safetensors")));
        List<String> ranges = hub.cdnRequests().stream().map(FakeHub.Request::range).toList();
        assertEquals(2, ranges.size(), ranges.toString());
        assertNull(ranges.get(0));
        // what arrived before the cut (the socket may lose a little of what the server wrote)
        long resumedAt = Long.parseLong(ranges.get(1).replaceAll("bytes=(\\d+)-", "$1"));
        assertTrue(resumedAt > 0 && resumedAt <= 300_000, ranges.get(1));
    }

    @Test
    void aStalledDownloadIsAbandonedAndResumed() throws IOException {
        hub.stallAfter.set(200_000);
        HubClient c = HubClient.builder().environment(env()).backoff(Duration.ofMillis(1))
                .timeout(Duration.ofMillis(500)).progress(false).build();
        long t0 = System.nanoTime();
        Path dir = c.snapshot(REPO, "main", List.of("model.safetensors"));
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "took too long");
        assertArrayEquals(Files.readAllBytes(BASE.resolve("model.safetensors")), Files.readAllBytes(dir.resolve("model.safetensors")));
        String range = hub.cdnRequests().getLast().range();
        long resumedAt = Long.parseLong(range.replaceAll("bytes=(\\d+)-", "$1"));
        assertTrue(resumedAt > 0 && resumedAt <= 200_000, range);
    }

    @Test
    void concurrentDownloadsOfOneModelAgree() throws Exception {
        HubClient c = client();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(4)) {
            List<java.util.concurrent.Future<Path>> all = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                HubClient own = i % 2 == 0 ? c : client();
                all.add(pool.submit(() -> ModelLocator.resolve(own, REPO, null)));
            }
            for (var f : all) {
                Path dir = f.get();
                assertArrayEquals(Files.readAllBytes(BASE.resolve("model.safetensors")), Files.readAllBytes(dir.resolve("model.safetensors")));
            }
        }
        assertEquals(BASE_FILES, filesUnder(repoDir().resolve("snapshots").resolve(main)));
        assertTrue(filesUnder(repoDir().resolve("blobs")).stream().noneMatch(f -> f.endsWith(".incomplete")));
    }

    @Test
    void retriesTransientServerErrors() {
        hub.fail503.set(2);
        Path dir = client().snapshot(REPO, "main", List.of("config.json"));
        assertTrue(Files.isRegularFile(dir.resolve("config.json")));
    }

    @Test
    void givesUpAfterMaxAttempts() {
        hub.fail503.set(100);
        HubClient c = HubClient.builder().environment(env()).backoff(Duration.ofMillis(1)).maxAttempts(3).progress(false).build();
        HubException e = assertThrows(HubException.class, () -> c.snapshot(REPO, "main", List.of("config.json")));
        assertTrue(e.getMessage().contains("503") && e.getMessage().contains("3 attempts"), e.getMessage());
    }

    @Test
    void aChecksumMismatchIsDetectedAndNothingIsKept() throws IOException {
        hub.corruptFile = "model.safetensors";
        HubException e = assertThrows(HubException.class,
                () -> client().snapshot(REPO, "main", List.of("config.json", "model.safetensors")));
        assertTrue(e.getMessage().contains("checksum mismatch for model.safetensors"), e.getMessage());
        Set<String> blobs = filesUnder(repoDir().resolve("blobs"));
        assertEquals(1, blobs.size(), blobs.toString()); // config.json only: no blob, no .incomplete
        assertFalse(Files.exists(repoDir().resolve("snapshots").resolve(main).resolve("model.safetensors"),
                java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.exists(repoDir().resolve("refs/main")));
    }

    @Test
    void offlineUsesTheCache() {
        Path online = ModelLocator.resolve(client(), REPO, null);
        int before = hub.requests.size();
        HubClient offline = client("HF_HUB_OFFLINE", "1");
        assertTrue(offline.offline());
        assertEquals(online, ModelLocator.resolve(offline, REPO, null));
        assertEquals(online, offline.snapshot(REPO, "main", List.of("tokenizer.json")));
        assertEquals(before, hub.requests.size());
    }

    @Test
    void offlineWithoutTheCacheSaysWhatIsMissing() {
        HubClient offline = client("HF_HUB_OFFLINE", "true");
        HubException e = assertThrows(HubException.class, () -> ModelLocator.resolve(offline, REPO, null));
        assertTrue(e.getMessage().contains("HF_HUB_OFFLINE") && e.getMessage().contains("refs"), e.getMessage());

        client().snapshot(REPO, "main", List.of("config.json"));
        e = assertThrows(HubException.class, () -> ModelLocator.resolve(offline, REPO, null));
        assertTrue(e.getMessage().contains("model.safetensors or pytorch_model.bin"), e.getMessage());
        e = assertThrows(HubException.class, () -> offline.snapshot(REPO, "main", List.of("config.json", "modules.json")));
        assertTrue(e.getMessage().contains("missing modules.json"), e.getMessage());
        assertTrue(hub.requests.stream().noneMatch(r -> r.path().contains("modules.json")));
    }

    @Test
    void notFoundErrorsAreClear() {
        HubClient c = client("HF_TOKEN", "hf_any");
        HubException e = assertThrows(HubException.class, () -> ModelLocator.resolve(c, "nobody/nothing", null));
        assertEquals(404, e.status());
        assertTrue(e.getMessage().contains("repository or revision not found: nobody/nothing@main"), e.getMessage());
        e = assertThrows(HubException.class, () -> ModelLocator.resolve(client(), "nobody/nothing", null));
        assertEquals(401, e.status());
        assertTrue(e.getMessage().startsWith("repository or revision not found: nobody/nothing@main")
                && e.getMessage().contains("set HF_TOKEN"), e.getMessage());

        e = assertThrows(HubException.class, () -> c.snapshot(REPO, "no-such-branch", List.of("config.json")));
        assertTrue(e.getMessage().contains("revision not found: no-such-branch"), e.getMessage());

        e = assertThrows(HubException.class, () -> c.snapshot(REPO, "main", List.of("flax_model.msgpack")));
        assertTrue(e.getMessage().contains("has no file flax_model.msgpack"), e.getMessage());
    }

    @Test
    void aGatedModelAsksForAToken() {
        hub.requiredToken = "hf_secret";
        HubException e = assertThrows(HubException.class, () -> ModelLocator.resolve(client(), REPO, null));
        assertEquals(401, e.status());
        assertTrue(e.getMessage().contains("gated") && e.getMessage().contains("HF_TOKEN"), e.getMessage());
    }

    @Test
    void theTokenGoesToTheHubButNotToTheCdn() {
        hub.requiredToken = "hf_secret";
        Path dir = ModelLocator.resolve(client("HF_TOKEN", "hf_secret"), REPO, null);
        assertTrue(Files.isRegularFile(dir.resolve("model.safetensors")));
        assertTrue(hub.hubRequests().stream().allMatch(r -> "Bearer hf_secret".equals(r.authorization())));
        assertFalse(hub.cdnRequests().isEmpty());
        assertTrue(hub.cdnRequests().stream().allMatch(r -> r.authorization() == null && r.host().startsWith("localhost")));
    }

    @Test
    void theTokenFileIsRead() throws IOException {
        hub.requiredToken = "hf_from_file";
        Path tokenFile = tmp.resolve("hf-home/token");
        Files.createDirectories(tokenFile.getParent());
        Files.writeString(tokenFile, "hf_from_file\n");
        assertTrue(Files.isDirectory(client().snapshot(REPO, "main", List.of("config.json"))));

        Path other = tmp.resolve("elsewhere-token");
        Files.writeString(other, "hf_from_file");
        Files.delete(tokenFile);
        assertTrue(Files.isDirectory(client("HF_TOKEN_PATH", other.toString()).snapshot(REPO, "main", List.of("tokenizer.json"))));
    }

    @Test
    void aCommitHashPinsTheRevision() throws IOException {
        String old = hub.addCommit(REPO, FakeHub.testdata("xlmr-seqcls"), "v1.0");
        HubClient c = client();
        Path pinned = ModelLocator.resolve(c, REPO, old);
        assertEquals(repoDir().resolve("snapshots").resolve(old), pinned);
        assertEquals(Files.readString(FakeHub.testdata("xlmr-seqcls/config.json")), Files.readString(pinned.resolve("config.json")));
        assertFalse(Files.exists(repoDir().resolve("refs/main")));
        assertFalse(Files.exists(repoDir().resolve("refs").resolve(old)));
        assertTrue(hub.hubRequests().stream().filter(r -> r.path().contains("/resolve/")).allMatch(r -> r.path().contains(old)));

        Path tagged = ModelLocator.resolve(c, REPO, "v1.0");
        assertEquals(pinned, tagged);
        assertEquals(old, Files.readString(repoDir().resolve("refs/v1.0")));
        Path latest = ModelLocator.resolve(c, REPO, "main");
        assertEquals(repoDir().resolve("snapshots").resolve(main), latest);
        // files shared between the commits are stored once
        assertTrue(filesUnder(repoDir().resolve("blobs")).size() < filesUnder(pinned).size() + filesUnder(latest).size());
    }

    @Test
    void anExistingPythonCacheIsUsedWithoutNetwork() throws IOException {
        // the layout huggingface_hub writes, made by hand
        String commit = "0123456789abcdef0123456789abcdef01234567";
        Path repo = tmp.resolve("cache/models--intfloat--multilingual-e5-base");
        Path snap = repo.resolve("snapshots").resolve(commit);
        for (String f : List.of("config.json", "tokenizer.json", "model.safetensors", "modules.json", "1_Pooling/config.json")) {
            byte[] content = Files.readAllBytes(BASE.resolve(f));
            Path blob = repo.resolve("blobs").resolve(FakeHub.etagOf(f, content));
            Files.createDirectories(blob.getParent());
            Files.write(blob, content);
            Path pointer = snap.resolve(f);
            Files.createDirectories(pointer.getParent());
            Files.createSymbolicLink(pointer, pointer.getParent().relativize(blob));
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), commit);

        hub.close(); // any request would fail
        Path dir = ModelLocator.resolve(client(), "intfloat/multilingual-e5-base", null);
        assertEquals(snap, dir);
        assertTrue(hub.requests.isEmpty());
    }

    @Test
    void hfEndpointAndCacheVariablesAreHonoured() {
        HubClient c = HubClient.fromEnvironment(Map.of("HF_ENDPOINT", hub.endpoint() + "/",
                "HF_HOME", tmp.resolve("home").toString(), "HF_HUB_DISABLE_PROGRESS_BARS", "1"));
        assertEquals(hub.endpoint(), c.endpoint());
        assertEquals(tmp.resolve("home/hub"), c.cacheDir());
        Path dir = c.snapshot(REPO, "main", List.of("config.json"));
        assertTrue(dir.startsWith(tmp.resolve("home/hub/models--xlmr--xlmr-base")));
        assertFalse(hub.requests.isEmpty());

        assertEquals(Path.of("/x/cache/huggingface/hub"), HubClient.fromEnvironment(Map.of("XDG_CACHE_HOME", "/x/cache")).cacheDir());
        assertEquals(Path.of("/y"), HubClient.fromEnvironment(Map.of("HF_HOME", "/x", "HF_HUB_CACHE", "/y")).cacheDir());
        assertEquals(HubClient.DEFAULT_ENDPOINT, HubClient.fromEnvironment(Map.of()).endpoint());
    }

    @Test
    void shardedAndPickleWeightsAreFound() throws IOException {
        Path sharded = tmp.resolve("sharded");
        Files.createDirectories(sharded);
        for (String f : List.of("config.json", "tokenizer.json")) {
            Files.copy(BASE.resolve(f), sharded.resolve(f));
        }
        Files.writeString(sharded.resolve("model.safetensors.index.json"), """
                {"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                 "b": "model-00002-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}}""");
        Files.write(sharded.resolve("model-00001-of-00002.safetensors"), new byte[] {1, 2, 3});
        Files.write(sharded.resolve("model-00002-of-00002.safetensors"), new byte[] {4, 5});
        Files.write(sharded.resolve("pytorch_model.bin"), new byte[] {9});
        hub.addCommit("xlmr/sharded", sharded, "main");
        Path dir = ModelLocator.resolve(client(), "xlmr/sharded", null);
        assertEquals(Set.of("config.json", "tokenizer.json", "model.safetensors.index.json",
                "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"), filesUnder(dir));
        int before = hub.requests.size();
        assertEquals(dir, ModelLocator.resolve(client(), "xlmr/sharded", null));
        assertEquals(before, hub.requests.size());

        hub.addCommit("xlmr/seqcls-bin", FakeHub.testdata("xlmr-seqcls"), "main");
        Path bin = ModelLocator.resolve(client(), "xlmr/seqcls-bin", null);
        assertTrue(filesUnder(bin).contains("model.safetensors"));
        assertFalse(filesUnder(bin).contains("pytorch_model.bin"));
    }

    @Test
    void onlyTheModuleFoldersListedInModulesJsonAreFetched() throws IOException {
        Path st = tmp.resolve("st");
        try (Stream<Path> files = Files.walk(BASE)) {
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                Path to = st.resolve(BASE.relativize(p).toString());
                Files.createDirectories(to.getParent());
                Files.copy(p, to);
            }
        }
        Files.createDirectories(st.resolve("2_Normalize"));
        Files.writeString(st.resolve("2_Normalize/notes.json"), "{}");
        Files.createDirectories(st.resolve("3_Dense"));
        Files.writeString(st.resolve("3_Dense/config.json"), "{}");
        Files.writeString(st.resolve("README.md"), "# a model card");
        hub.addCommit("xlmr/st", st, "main");
        Path dir = ModelLocator.resolve(client(), "xlmr/st", null);
        Set<String> expected = new TreeSet<>(BASE_FILES);
        expected.add("2_Normalize/notes.json"); // listed in modules.json; 3_Dense and the card are not needed
        assertEquals(expected, filesUnder(dir));
    }

    @Test
    void aLocalFolderIsUsedAsIs() {
        assertEquals(BASE, ModelLocator.resolve(client(), BASE.toString(), null));
        HubException e = assertThrows(HubException.class, () -> ModelLocator.resolve(client(), "./no/such/folder", null));
        assertTrue(e.getMessage().contains("no such model folder"), e.getMessage());
        e = assertThrows(HubException.class, () -> ModelLocator.resolve(client(), "bad--id", null));
        assertTrue(e.getMessage().contains("invalid hub repository id"), e.getMessage());
        assertTrue(hub.requests.isEmpty());
    }

    @Test
    void aProgressBarIsShownWhenAsked() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        HubClient c = HubClient.builder().environment(env()).progress(true)
                .progressOut(new PrintStream(err, true, StandardCharsets.UTF_8)).build();
        c.snapshot(REPO, "main", List.of("config.json", "model.safetensors"));
        String out = err.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("model.safetensors"), out);
        assertFalse(out.contains("config.json"), out);
    }
}
