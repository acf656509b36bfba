package dev.peft4j.io.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link HubDownloader} against a {@link FakeHub} on the loopback interface. */
class HubDownloaderTest {
  static final String REPO = "acme/tiny-llama";
  static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
  static final String COMMIT_V1 = "89abcdef0123456789abcdef0123456789abcdef";
  static final String SHARD1 = "model-00001-of-00002.safetensors";
  static final String SHARD2 = "model-00002-of-00002.safetensors";

  @TempDir Path tmp;
  FakeHub hub;
  Path cacheDir;
  Map<String, byte[]> files;

  @BeforeEach
  void setUp() throws IOException {
    hub = new FakeHub();
    cacheDir = tmp.resolve("hub-cache");
    files = new LinkedHashMap<>();
    files.put(".gitattributes", bytes("*.safetensors filter=lfs\n"));
    files.put("README.md", bytes("# tiny\n"));
    files.put("config.json", bytes("{\"model_type\": \"llama\", \"hidden_size\": 8}"));
    files.put("generation_config.json", bytes("{\"eos_token_id\": 2}"));
    files.put("tokenizer.json", bytes("{\"model\": {}}"));
    files.put("tokenizer_config.json", bytes("{\"bos_token\": \"<s>\"}"));
    files.put("model.safetensors.index.json", bytes("{\"metadata\": {\"total_size\": 150000}, \"weight_map\": {"
        + "\"a.weight\": \"" + SHARD1 + "\", \"b.weight\": \"" + SHARD2 + "\", \"c.weight\": \"" + SHARD1 + "\"}}"));
    files.put(SHARD1, random(100_000, 1));
    files.put(SHARD2, random(50_000, 2));
    files.put("pytorch_model.bin", random(1_000, 3));
    hub.addRepo(REPO, "main", COMMIT, files, Set.of(SHARD1, SHARD2, "pytorch_model.bin"));
  }

  @AfterEach
  void tearDown() {
    hub.close();
  }

  private HubDownloader downloader(Optional<String> token) {
    return new HubDownloader(new HubSettings(cacheDir, hub.endpoint(), token, false));
  }

  private Path repoDir() {
    return cacheDir.resolve("models--acme--tiny-llama");
  }

  @Test
  void downloadsWhatPeft4jNeedsIntoTheHuggingFaceLayout() throws IOException {
    Path snapshot = downloader(Optional.empty()).download(RepoRef.parse(REPO).orElseThrow());

    assertThat(snapshot).isEqualTo(repoDir().resolve("snapshots").resolve(COMMIT));
    assertThat(Files.readString(repoDir().resolve("refs/main"))).isEqualTo(COMMIT);
    try (Stream<Path> s = Files.list(snapshot)) {
      assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(
          "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
          "model.safetensors.index.json", SHARD1, SHARD2);
    }
    // Regular files: blob named by the git blob id; LFS files: by the sha256 (X-Linked-Etag).
    Path config = snapshot.resolve("config.json");
    assertThat(Files.isSymbolicLink(config)).isTrue();
    assertThat(Files.readSymbolicLink(config))
        .isEqualTo(Path.of("..", "..", "blobs", FakeHub.gitBlobSha1(files.get("config.json"))));
    assertThat(Files.readAllBytes(config)).isEqualTo(files.get("config.json"));
    String oid1 = FakeHub.sha256(files.get(SHARD1));
    assertThat(Files.readSymbolicLink(snapshot.resolve(SHARD1))).isEqualTo(Path.of("..", "..", "blobs", oid1));
    assertThat(Files.readAllBytes(repoDir().resolve("blobs").resolve(oid1))).isEqualTo(files.get(SHARD1));
    assertThat(Files.readAllBytes(snapshot.resolve(SHARD2))).isEqualTo(files.get(SHARD2));
    try (Stream<Path> s = Files.list(repoDir().resolve("blobs"))) {
      assertThat(s.map(Path::toString)).noneMatch(n -> n.endsWith(".incomplete")).hasSize(7);
    }
    assertThat(hub.requests()).noneMatch(r -> r.path().endsWith("README.md") || r.path().endsWith(".bin")
        || r.path().endsWith(".gitattributes"));

    // The ModelLocator then finds it without the network.
    ModelLocator offline = new ModelLocator(Map.of("HF_HUB_CACHE", cacheDir.toString(), "HF_HUB_OFFLINE", "1"), tmp);
    assertThat(offline.resolve(REPO)).isEqualTo(snapshot);
    assertThat(offline.resolve(REPO + "@" + COMMIT)).isEqualTo(snapshot);
  }

  @Test
  void secondDownloadOnlyAsksForTheRevision() throws IOException {
    HubDownloader d = downloader(Optional.empty());
    d.download(RepoRef.parse(REPO).orElseThrow());
    hub.clearRequests();
    d.download(RepoRef.parse(REPO).orElseThrow());
    assertThat(hub.requests()).extracting(FakeHub.Request::path)
        .containsExactly("/api/models/" + REPO + "/revision/main");
  }

  @Test
  void resumesAnIncompleteBlobWithARangeRequest() throws IOException {
    String oid = FakeHub.sha256(files.get(SHARD1));
    Path partial = repoDir().resolve("blobs").resolve(oid + ".incomplete");
    Files.createDirectories(partial.getParent());
    Files.write(partial, Arrays.copyOf(files.get(SHARD1), 40_000));

    Path snapshot = downloader(Optional.empty()).download(RepoRef.parse(REPO).orElseThrow());

    assertThat(hub.requests()).filteredOn(r -> r.path().equals("/cdn/" + oid) && r.method().equals("GET"))
        .extracting(FakeHub.Request::range).containsExactly("bytes=40000-");
    assertThat(Files.readAllBytes(snapshot.resolve(SHARD1))).isEqualTo(files.get(SHARD1));
    assertThat(partial).doesNotExist();
  }

  @Test
  void anInterruptedDownloadIsResumedByTheNextOne() throws IOException {
    String oid = FakeHub.sha256(files.get(SHARD1));
    Path partial = repoDir().resolve("blobs").resolve(oid + ".incomplete");
    hub.dropNextDownloadAfter(30_000);
    assertThatThrownBy(() -> downloader(Optional.empty()).download(RepoRef.parse(REPO).orElseThrow()))
        .isInstanceOf(HubException.class)
        .hasMessageContaining("/cdn/" + oid)
        .hasMessageContaining(partial.toString());
    assertThat(partial).exists();
    long kept = Files.size(partial);
    assertThat(kept).isGreaterThan(0).isLessThan(files.get(SHARD1).length);
    assertThat(repoDir().resolve("refs/main")).doesNotExist();

    Path snapshot = downloader(Optional.empty()).download(RepoRef.parse(REPO).orElseThrow());
    assertThat(hub.requests()).anyMatch(r -> ("bytes=" + kept + "-").equals(r.range()));
    assertThat(Files.readAllBytes(snapshot.resolve(SHARD1))).isEqualTo(files.get(SHARD1));
    assertThat(partial).doesNotExist();
  }

  @Test
  void aCompletePartialFileIsVerifiedAndKeptWithoutARequest() throws IOException {
    String oid = FakeHub.sha256(files.get(SHARD2));
    Path partial = repoDir().resolve("blobs").resolve(oid + ".incomplete");
    Files.createDirectories(partial.getParent());
    Files.write(partial, files.get(SHARD2));

    Path snapshot = downloader(Optional.empty()).download(RepoRef.parse(REPO).orElseThrow());
    assertThat(hub.requests()).noneMatch(r -> r.path().equals("/cdn/" + oid));
    assertThat(Files.readAllBytes(snapshot.resolve(SHARD2))).isEqualTo(files.get(SHARD2));
  }

  @Test
  void startsOverWhenTheServerIgnoresTheRange() throws IOException {
    hub.ignoreRange(true);
    String oid = FakeHub.sha256(files.get(SHARD2));
    Path partial = repoDir().resolve("blobs").resolve(oid + ".incomplete");
    Files.createDirectories(partial.getParent());
    Files.write(partial, random(10_000, 99)); // wrong bytes: must be overwritten, not appended to

    Path snapshot = downloader(Optional.empty()).download(RepoRef.parse(REPO).orElseThrow());

    assertThat(hub.requests()).anyMatch(r -> r.path().equals("/cdn/" + oid) && "bytes=10000-".equals(r.range()));
    assertThat(Files.readAllBytes(snapshot.resolve(SHARD2))).isEqualTo(files.get(SHARD2));
  }

  @Test
  void checksumMismatchIsRejectedAndNothingIsKept() {
    String oid = FakeHub.sha256(files.get(SHARD2));
    byte[] tampered = files.get(SHARD2).clone();
    tampered[123] ^= 1;
    hub.corrupt(oid, tampered);

    assertThatThrownBy(() -> downloader(Optional.empty()).download(RepoRef.parse(REPO).orElseThrow()))
        .isInstanceOf(HubException.class)
        .hasMessageContaining("checksum mismatch")
        .hasMessageContaining(hub.endpoint() + "/" + REPO + "/resolve/" + COMMIT + "/" + SHARD2)
        .hasMessageContaining(oid);
    assertThat(repoDir().resolve("blobs").resolve(oid)).doesNotExist();
    assertThat(repoDir().resolve("blobs").resolve(oid + ".incomplete")).doesNotExist();
    assertThat(repoDir().resolve("snapshots").resolve(COMMIT).resolve(SHARD2)).doesNotExist();
    assertThat(repoDir().resolve("refs/main")).doesNotExist(); // refs only point at complete snapshots
  }

  @Test
  void unknownRepoOrRevisionIsModelNotFoundNamingTheUrl() {
    assertThatThrownBy(() -> downloader(Optional.empty()).download(RepoRef.parse("acme/missing").orElseThrow()))
        .isInstanceOf(ModelNotFoundException.class)
        .hasMessageContaining("404")
        .hasMessageContaining(hub.endpoint() + "/api/models/acme/missing/revision/main");
    assertThatThrownBy(() -> downloader(Optional.empty()).download(RepoRef.parse(REPO + "@nope").orElseThrow()))
        .isInstanceOf(ModelNotFoundException.class)
        .hasMessageContaining("/revision/nope");
  }

  @Test
  void privateRepoNeedsTheTokenWhichTheCdnNeverSees() throws IOException {
    hub.requireToken("hf_secret");
    assertThatThrownBy(() -> downloader(Optional.empty()).download(RepoRef.parse(REPO).orElseThrow()))
        .isInstanceOf(HubException.class)
        .hasMessageContaining("HTTP 401")
        .hasMessageContaining(hub.endpoint() + "/api/models/" + REPO + "/revision/main")
        .hasMessageContaining("HF_TOKEN")
        .hasMessageContaining("Invalid username or password.");
    assertThatThrownBy(() -> downloader(Optional.of("wrong")).download(RepoRef.parse(REPO).orElseThrow()))
        .isInstanceOf(HubException.class)
        .hasMessageContaining("HTTP 401");

    hub.clearRequests();
    Path snapshot = downloader(Optional.of("hf_secret")).download(RepoRef.parse(REPO).orElseThrow());
    assertThat(Files.readAllBytes(snapshot.resolve(SHARD1))).isEqualTo(files.get(SHARD1));
    assertThat(hub.requests()).filteredOn(r -> !r.path().startsWith("/cdn/"))
        .isNotEmpty().allMatch(r -> "Bearer hf_secret".equals(r.authorization()));
    assertThat(hub.requests()).filteredOn(r -> r.path().startsWith("/cdn/"))
        .isNotEmpty().allMatch(r -> r.authorization() == null);
  }

  @Test
  void networkErrorNamesTheUrl() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    URI dead = URI.create("http://127.0.0.1:" + port);
    HubDownloader d = new HubDownloader(new HubSettings(cacheDir, dead, Optional.empty(), false));
    assertThatThrownBy(() -> d.download(RepoRef.parse(REPO).orElseThrow()))
        .isInstanceOf(HubException.class)
        .hasMessageContaining("network error")
        .hasMessageContaining(dead + "/api/models/" + REPO + "/revision/main");
  }

  @Test
  void branchTagAndCommitRevisions() throws IOException {
    Map<String, byte[]> v1 = new LinkedHashMap<>();
    v1.put("config.json", bytes("{\"v\": 1}"));
    v1.put("model.safetensors", random(3_000, 7));
    v1.put("adapter_config.json", bytes("{\"peft_type\": \"LORA\"}"));
    hub.addRepo(REPO, "v1", COMMIT_V1, v1, Set.of("model.safetensors"));
    hub.addRepo(REPO, "refs/pr/1", COMMIT_V1, v1, Set.of("model.safetensors"));

    Path snap = downloader(Optional.empty()).download(RepoRef.parse(REPO + "@v1").orElseThrow());
    assertThat(snap.getFileName().toString()).isEqualTo(COMMIT_V1);
    assertThat(Files.readString(repoDir().resolve("refs/v1"))).isEqualTo(COMMIT_V1);
    assertThat(Files.readAllBytes(snap.resolve("model.safetensors"))).isEqualTo(v1.get("model.safetensors"));
    assertThat(snap.resolve("adapter_config.json")).exists();

    downloader(Optional.empty()).download(RepoRef.parse(REPO + "@refs/pr/1").orElseThrow());
    assertThat(hub.requests()).anyMatch(r -> r.path().equals("/api/models/" + REPO + "/revision/refs%2Fpr%2F1"));
    assertThat(Files.readString(repoDir().resolve("refs/refs/pr/1"))).isEqualTo(COMMIT_V1);

    downloader(Optional.empty()).download(RepoRef.parse(REPO + "@" + COMMIT).orElseThrow());
    assertThat(repoDir().resolve("refs").resolve(COMMIT)).doesNotExist();
    assertThat(repoDir().resolve("refs/main")).doesNotExist();
    assertThat(repoDir().resolve("snapshots").resolve(COMMIT).resolve(SHARD2)).exists();
  }

  @Test
  void anAdapterRepoGivesItsSafetensorsOrElseItsPickle() throws IOException {
    Map<String, byte[]> both = new LinkedHashMap<>();
    both.put("adapter_config.json", bytes("{\"peft_type\": \"LORA\"}"));
    both.put("adapter_model.safetensors", random(2_000, 8));
    both.put("adapter_model.bin", random(2_000, 9));
    hub.addRepo(REPO, "both", COMMIT_V1, both, Set.of("adapter_model.safetensors", "adapter_model.bin"));
    Path snap = downloader(Optional.empty()).download(RepoRef.parse(REPO + "@both").orElseThrow());
    try (Stream<Path> s = Files.list(snap)) {
      assertThat(s.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("adapter_config.json", "adapter_model.safetensors");
    }

    Map<String, byte[]> pickled = new LinkedHashMap<>(both);
    pickled.remove("adapter_model.safetensors");
    hub.addRepo(REPO, "pickled", "fedcba9876543210fedcba9876543210fedcba98", pickled, Set.of("adapter_model.bin"));
    snap = downloader(Optional.empty()).download(RepoRef.parse(REPO + "@pickled").orElseThrow());
    assertThat(Files.readAllBytes(snap.resolve("adapter_model.bin"))).isEqualTo(pickled.get("adapter_model.bin"));
  }

  /** A checkpoint saved before safetensors: its pytorch_model.bin index and every shard it lists. */
  @Test
  void aModelWithoutSafetensorsGivesItsPickledShards() throws IOException {
    Map<String, byte[]> pickled = new LinkedHashMap<>();
    pickled.put("config.json", files.get("config.json"));
    pickled.put("pytorch_model.bin.index.json", bytes("{\"weight_map\": {\"a.weight\": \"pytorch_model-00001-of-00002.bin\","
        + " \"b.weight\": \"pytorch_model-00002-of-00002.bin\"}}"));
    pickled.put("pytorch_model-00001-of-00002.bin", random(1_000, 10));
    pickled.put("pytorch_model-00002-of-00002.bin", random(1_000, 11));
    pickled.put("tf_model.h5", random(1_000, 12));
    hub.addRepo(REPO, "pickled", COMMIT_V1, pickled,
        Set.of("pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin", "tf_model.h5"));
    Path snap = downloader(Optional.empty()).download(RepoRef.parse(REPO + "@pickled").orElseThrow());
    try (Stream<Path> s = Files.list(snap)) {
      assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("config.json",
          "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin");
    }
  }

  @Test
  void offlineSettingsRefuseToDownload() {
    HubDownloader d = new HubDownloader(new HubSettings(cacheDir, hub.endpoint(), Optional.empty(), true));
    assertThatThrownBy(() -> d.download(RepoRef.parse(REPO).orElseThrow()))
        .isInstanceOf(IllegalStateException.class);
    assertThat(hub.requests()).isEmpty();
  }

  @Test
  void etagNormalisationAndUrlEncoding() {
    assertThat(HubDownloader.normalizeEtag("W/\"abc\"")).isEqualTo("abc");
    assertThat(HubDownloader.normalizeEtag("\"abc\"")).isEqualTo("abc");
    assertThat(HubDownloader.encodePath("sub dir/a+b.json")).isEqualTo("sub%20dir/a%2Bb.json");
    assertThat(HubDownloader.encodeSegment("refs/pr/1")).isEqualTo("refs%2Fpr%2F1");
    assertThat(List.of(HubDownloader.encodeSegment("é"))).containsExactly("%C3%A9");
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }
}
