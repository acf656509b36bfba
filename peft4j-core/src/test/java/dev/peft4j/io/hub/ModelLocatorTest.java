package dev.peft4j.io.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ModelLocator} on hand-made caches, with an injected environment and home directory. */
class ModelLocatorTest {
  static final String HASH = "a9b8c7d6e5f4a3b2c1d0a9b8c7d6e5f4a3b2c1d0";
  static final String OTHER = "1111111111222222222233333333334444444444";

  @TempDir Path tmp;

  /** A snapshot directory with a config.json, as huggingface_hub would leave it. */
  private Path snapshot(Path cache, String repoFolder, String commit) throws IOException {
    Path snap = cache.resolve(repoFolder).resolve("snapshots").resolve(commit);
    Files.createDirectories(snap);
    Files.writeString(snap.resolve("config.json"), "{}");
    return snap;
  }

  private void ref(Path cache, String repoFolder, String revision, String content) throws IOException {
    Path ref = cache.resolve(repoFolder).resolve("refs").resolve(revision);
    Files.createDirectories(ref.getParent());
    Files.writeString(ref, content, StandardCharsets.UTF_8);
  }

  @Test
  void existingLocalDirectoryIsReturnedAsIs() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("my-model"));
    ModelLocator locator = new ModelLocator(Map.of("HF_HUB_OFFLINE", "1"), tmp);
    assertThat(locator.resolve(dir.toString())).isEqualTo(dir);
  }

  @Test
  void refsMainPointsAtTheSnapshot() throws IOException {
    Path cache = tmp.resolve("cache");
    Path snap = snapshot(cache, "models--acme--tiny", HASH);
    snapshot(cache, "models--acme--tiny", OTHER);
    ref(cache, "models--acme--tiny", "main", HASH + "\n");
    ref(cache, "models--acme--tiny", "v2", OTHER);
    ModelLocator locator = new ModelLocator(Map.of("HF_HUB_CACHE", cache.toString(), "HF_HUB_OFFLINE", "1"), tmp);

    assertThat(locator.resolve("acme/tiny")).isEqualTo(snap);
    assertThat(locator.resolve("acme/tiny@main")).isEqualTo(snap);
    assertThat(locator.resolve("acme/tiny@v2")).isEqualTo(cache.resolve("models--acme--tiny/snapshots/" + OTHER));
    assertThat(locator.resolve("acme/tiny@" + OTHER)).isEqualTo(cache.resolve("models--acme--tiny/snapshots/" + OTHER));
  }

  @Test
  void cacheRootFollowsHuggingFaceHubPrecedence() throws IOException {
    Path home = tmp.resolve("home");
    Path defaultSnap = snapshot(home.resolve(".cache/huggingface/hub"), "models--acme--tiny", HASH);
    ref(home.resolve(".cache/huggingface/hub"), "models--acme--tiny", "main", HASH);
    assertThat(new ModelLocator(Map.of("HF_HUB_OFFLINE", "1"), home).resolve("acme/tiny")).isEqualTo(defaultSnap);

    assertThat(HubSettings.fromEnvironment(Map.of("XDG_CACHE_HOME", "/x"), home).cacheDir())
        .isEqualTo(Path.of("/x/huggingface/hub"));
    assertThat(HubSettings.fromEnvironment(Map.of("XDG_CACHE_HOME", "/x", "HF_HOME", "/h"), home).cacheDir())
        .isEqualTo(Path.of("/h/hub"));
    assertThat(HubSettings.fromEnvironment(Map.of("HF_HOME", "~/hf", "HF_HUB_CACHE", "/c"), home).cacheDir())
        .isEqualTo(Path.of("/c"));
    assertThat(HubSettings.fromEnvironment(Map.of("HF_HOME", "~/hf"), home).cacheDir())
        .isEqualTo(home.resolve("hf/hub"));
  }

  @Test
  void settingsFromEnvironment() {
    HubSettings none = HubSettings.fromEnvironment(Map.of(), tmp);
    assertThat(none.endpoint()).isEqualTo(URI.create("https://huggingface.co"));
    assertThat(none.token()).isEmpty();
    assertThat(none.offline()).isFalse();
    for (String yes : new String[] {"1", "true", "TRUE", "yes", "on"}) {
      assertThat(HubSettings.fromEnvironment(Map.of("HF_HUB_OFFLINE", yes), tmp).offline()).as(yes).isTrue();
    }
    for (String no : new String[] {"0", "false", ""}) {
      assertThat(HubSettings.fromEnvironment(Map.of("HF_HUB_OFFLINE", no), tmp).offline()).as(no).isFalse();
    }
    HubSettings s = HubSettings.fromEnvironment(Map.of("HF_ENDPOINT", "http://mirror.local:8080/", "HF_TOKEN", "hf_abc"), tmp);
    assertThat(s.endpoint()).isEqualTo(URI.create("http://mirror.local:8080"));
    assertThat(s.token()).contains("hf_abc");
    assertThat(s.toString()).doesNotContain("hf_abc");
    assertThatThrownBy(() -> HubSettings.fromEnvironment(Map.of("HF_ENDPOINT", "ftp://x"), tmp))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void offlineAndNotCachedListsEverythingSearched() throws IOException {
    Path cache = tmp.resolve("cache");
    ModelLocator locator = new ModelLocator(Map.of("HF_HUB_CACHE", cache.toString(), "HF_HUB_OFFLINE", "true"), tmp);
    assertThatThrownBy(() -> locator.resolve("acme/absent"))
        .isInstanceOfSatisfying(ModelNotFoundException.class, e -> {
          assertThat(e.model()).isEqualTo("acme/absent@main");
          assertThat(e.searched()).containsExactly(
              Path.of("acme/absent"), cache.resolve("models--acme--absent/refs/main"));
        })
        .hasMessageContaining("acme/absent")
        .hasMessageContaining("HF_HUB_OFFLINE")
        .hasMessageContaining(cache.resolve("models--acme--absent/refs/main").toString());

    // A ref whose snapshot lacks config.json (a single hf_hub_download) is not a model.
    ref(cache, "models--acme--partial", "main", HASH);
    Files.createDirectories(cache.resolve("models--acme--partial/snapshots").resolve(HASH));
    assertThatThrownBy(() -> locator.resolve("acme/partial"))
        .isInstanceOfSatisfying(ModelNotFoundException.class, e -> assertThat(e.searched()).containsExactly(
            Path.of("acme/partial"),
            cache.resolve("models--acme--partial/refs/main"),
            cache.resolve("models--acme--partial/snapshots").resolve(HASH)));

    assertThatThrownBy(() -> locator.resolve("acme/absent@" + HASH))
        .isInstanceOfSatisfying(ModelNotFoundException.class, e -> assertThat(e.searched()).contains(
            cache.resolve("models--acme--absent/snapshots").resolve(HASH)));
  }

  @Test
  void neitherDirectoryNorRepoId() {
    ModelLocator locator = new ModelLocator(Map.of("HF_HUB_CACHE", tmp.toString(), "HF_HUB_OFFLINE", "1"), tmp);
    assertThatThrownBy(() -> locator.resolve(tmp.resolve("no/such/dir").toString()))
        .isInstanceOf(ModelNotFoundException.class)
        .hasMessageContaining("not a directory and not a Hugging Face repo id");
    assertThatThrownBy(() -> locator.resolve("acme/tiny@"))
        .isInstanceOf(ModelNotFoundException.class);
  }

  @Test
  void badRefContentIsReported() throws IOException {
    Path cache = tmp.resolve("cache");
    ref(cache, "models--acme--tiny", "main", "not-a-hash");
    ModelLocator locator = new ModelLocator(Map.of("HF_HUB_CACHE", cache.toString(), "HF_HUB_OFFLINE", "1"), tmp);
    assertThatThrownBy(() -> locator.resolve("acme/tiny"))
        .isInstanceOf(HubException.class)
        .hasMessageContaining(cache.resolve("models--acme--tiny/refs/main").toString());
  }

  @Test
  void notCachedAndOnlineDownloadsFromTheEndpoint() throws IOException {
    try (FakeHub hub = new FakeHub()) {
      String commit = "00000000000000000000000000000000000000aa";
      hub.addRepo("acme/online", "main", commit,
          Map.of("config.json", "{}".getBytes(StandardCharsets.UTF_8),
              "model.safetensors", new byte[] {1, 2, 3}),
          Set.of("model.safetensors"));
      Path cache = tmp.resolve("cache");
      ModelLocator locator = new ModelLocator(
          Map.of("HF_HUB_CACHE", cache.toString(), "HF_ENDPOINT", hub.endpoint().toString()), tmp);
      Path snap = locator.resolve("acme/online");
      assertThat(snap).isEqualTo(cache.resolve("models--acme--online/snapshots").resolve(commit));
      assertThat(Files.readAllBytes(snap.resolve("model.safetensors"))).containsExactly(1, 2, 3);

      hub.clearRequests();
      assertThat(locator.resolve("acme/online")).isEqualTo(snap); // cached now: no request
      assertThat(hub.requests()).isEmpty();
    }
  }

  @Test
  void repoRefParsing() {
    assertThat(RepoRef.parse("meta-llama/Llama-2-7b-chat-hf"))
        .contains(new RepoRef("meta-llama/Llama-2-7b-chat-hf", "main"));
    assertThat(RepoRef.parse("org/name@v1.0")).contains(new RepoRef("org/name", "v1.0"));
    assertThat(RepoRef.parse("org/name@refs/pr/3").orElseThrow().revision()).isEqualTo("refs/pr/3");
    assertThat(RepoRef.parse("org/name@" + HASH).orElseThrow().isCommitHash()).isTrue();
    assertThat(RepoRef.parse("org/model.v2").orElseThrow().cacheFolderName()).isEqualTo("models--org--model.v2");
    for (String bad : new String[] {"gpt2", "a/b/c", "/abs/path", "./x/y", "org/", "org/na me", "org/a--b",
        "org/name@", "org/name@../x", "org/name@a@b", "../x"}) {
      assertThat(RepoRef.parse(bad)).as(bad).isEqualTo(Optional.empty());
    }
  }
}
