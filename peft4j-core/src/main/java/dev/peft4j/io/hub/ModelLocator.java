package dev.peft4j.io.hub;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Turns a model argument into a model directory:
 *
 * <ol>
 *   <li>an existing local directory is returned as given;
 *   <li>otherwise {@code org/name} or {@code org/name@revision} is looked up in the hub cache
 *       ({@link HubSettings#cacheDir()}): a commit-hash revision selects
 *       {@code snapshots/HASH}, a branch or tag (default {@code main}) goes through
 *       {@code refs/REVISION};
 *   <li>if it is not cached, it is downloaded with {@link HubDownloader}, unless
 *       {@code HF_HUB_OFFLINE} is set, which gives a {@link ModelNotFoundException} listing every
 *       path searched.
 * </ol>
 */
public final class ModelLocator {
  private final HubSettings settings;
  private final HubCache cache;
  private final HubDownloader downloader;

  /**
   * A locator configured by an environment map and home directory instead of the real ones (see
   * {@link HubSettings#fromEnvironment}).
   */
  public ModelLocator(Map<String, String> env, Path home) {
    this(HubSettings.fromEnvironment(env, home));
  }

  /** A locator with explicit settings. */
  public ModelLocator(HubSettings settings) {
    this(settings, new HubDownloader(settings));
  }

  /** A locator that downloads with {@code downloader} (which should share {@code settings}' cache). */
  public ModelLocator(HubSettings settings, HubDownloader downloader) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.cache = new HubCache(settings.cacheDir());
    this.downloader = Objects.requireNonNull(downloader, "downloader");
  }

  /** A locator for this process's environment and home directory. */
  public static ModelLocator fromSystem() {
    return new ModelLocator(HubSettings.fromSystem());
  }

  /** The settings in use. */
  public HubSettings settings() {
    return settings;
  }

  /**
   * Resolves {@code modelArg} to a model directory.
   *
   * @throws ModelNotFoundException if it is neither a directory nor a repo id, if the repo is not
   *     cached while offline, or if the Hub has no such repo or revision
   * @throws HubException if downloading fails, naming the URL
   */
  public Path resolve(String modelArg) throws IOException {
    Objects.requireNonNull(modelArg, "modelArg");
    List<Path> searched = new ArrayList<>();
    Optional<Path> local = asPath(modelArg);
    if (local.isPresent()) {
      if (Files.isDirectory(local.get())) {
        return local.get();
      }
      searched.add(local.get());
    }
    Optional<RepoRef> repo = RepoRef.parse(modelArg);
    if (repo.isEmpty()) {
      throw new ModelNotFoundException(modelArg, searched,
          "model \"" + modelArg + "\" is not a directory and not a Hugging Face repo id (org/name or org/name@revision)");
    }
    HubCache.Lookup lookup = cache.find(repo.get());
    searched.addAll(lookup.searched());
    if (lookup.snapshot().isPresent()) {
      return lookup.snapshot().get();
    }
    if (settings.offline()) {
      throw new ModelNotFoundException(repo.get().toString(), searched,
          "model " + repo.get().repoId() + " (revision " + repo.get().revision() + ") is not in the Hugging Face cache"
              + " and HF_HUB_OFFLINE is set; searched:\n" + searched.stream().map(p -> "  " + p)
                  .collect(Collectors.joining("\n")));
    }
    return downloader.download(repo.get());
  }

  private static Optional<Path> asPath(String s) {
    try {
      return Optional.of(Path.of(s));
    } catch (InvalidPathException e) {
      return Optional.empty();
    }
  }

  @Override
  public String toString() {
    return "ModelLocator[" + settings + "]";
  }
}
