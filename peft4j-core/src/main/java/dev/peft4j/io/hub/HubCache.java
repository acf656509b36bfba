package dev.peft4j.io.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The on-disk layout of a Hugging Face hub cache, as {@code huggingface_hub} writes it:
 *
 * <pre>
 * ROOT/models--ORG--NAME/
 *   refs/REVISION              the commit hash REVISION points to (text, no newline)
 *   blobs/ETAG                 file contents, named by the server's ETag
 *   snapshots/COMMIT/FILE      relative symlink to ../../blobs/ETAG
 * ROOT/.locks/models--ORG--NAME/ETAG.lock
 * </pre>
 */
public final class HubCache {
  private final Path root;

  public HubCache(Path root) {
    this.root = Objects.requireNonNull(root, "root");
  }

  /** The result of looking a revision up: the snapshot, if found, and the paths checked. */
  public record Lookup(Optional<Path> snapshot, List<Path> searched) {
    public Lookup {
      searched = List.copyOf(searched);
    }
  }

  /** The cache root. */
  public Path root() {
    return root;
  }

  /** {@code ROOT/models--ORG--NAME}. */
  public Path repoDir(RepoRef repo) {
    return root.resolve(repo.cacheFolderName());
  }

  /** {@code refs/REVISION} of the repo. */
  public Path refFile(RepoRef repo) {
    return repoDir(repo).resolve("refs").resolve(repo.revision());
  }

  /** {@code snapshots/COMMIT} of the repo. */
  public Path snapshotDir(RepoRef repo, String commit) {
    return repoDir(repo).resolve("snapshots").resolve(commit);
  }

  /** {@code blobs/ETAG} of the repo. */
  public Path blob(RepoRef repo, String etag) {
    return repoDir(repo).resolve("blobs").resolve(etag);
  }

  /** {@code ROOT/.locks/models--ORG--NAME/ETAG.lock}. */
  Path lockFile(RepoRef repo, String etag) {
    return root.resolve(".locks").resolve(repo.cacheFolderName()).resolve(etag + ".lock");
  }

  /**
   * Finds the snapshot of {@code repo}'s revision: a commit hash is used directly, a branch or
   * tag through {@code refs/REVISION}. A snapshot counts only if it holds {@code config.json}
   * or {@code adapter_config.json}, so a cache that {@code hf_hub_download} filled with a single
   * other file is not taken for a model.
   */
  public Lookup find(RepoRef repo) throws IOException {
    List<Path> searched = new ArrayList<>();
    String commit;
    if (repo.isCommitHash()) {
      commit = repo.revision();
    } else {
      Path ref = refFile(repo);
      searched.add(ref);
      Optional<String> hash = readRef(ref);
      if (hash.isEmpty()) {
        return new Lookup(Optional.empty(), searched);
      }
      commit = hash.get();
    }
    Path snapshot = snapshotDir(repo, commit);
    searched.add(snapshot);
    boolean complete = Files.isDirectory(snapshot)
        && (Files.isRegularFile(snapshot.resolve("config.json"))
            || Files.isRegularFile(snapshot.resolve("adapter_config.json")));
    return new Lookup(complete ? Optional.of(snapshot) : Optional.empty(), searched);
  }

  private static Optional<String> readRef(Path ref) throws IOException {
    if (!Files.isRegularFile(ref)) {
      return Optional.empty();
    }
    String hash = Files.readString(ref, StandardCharsets.UTF_8).trim();
    if (!RepoRef.isCommitHash(hash)) {
      throw new HubException("not a commit hash in " + ref + ": \"" + hash + "\"");
    }
    return Optional.of(hash);
  }

  /** Writes {@code refs/REVISION} (atomically) unless the revision is the commit itself or the ref is current. */
  public void writeRef(RepoRef repo, String commit) throws IOException {
    if (repo.revision().equals(commit)) {
      return;
    }
    Path ref = refFile(repo);
    if (Files.isRegularFile(ref) && Files.readString(ref, StandardCharsets.UTF_8).equals(commit)) {
      return; // unchanged: works on a read-only cache, as huggingface_hub does
    }
    Files.createDirectories(ref.getParent());
    Path tmp = Files.createTempFile(ref.getParent(), ".ref", ".tmp");
    try {
      Files.writeString(tmp, commit, StandardCharsets.UTF_8);
      moveAtomically(tmp, ref);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * Makes {@code snapshots/COMMIT/FILE} point to {@code blob} with a relative symlink, like
   * {@code huggingface_hub} ({@code os.path.relpath(blob, pointer.parent)}). Where the file
   * system has no symlinks, the blob is copied instead.
   *
   * @return the pointer path
   */
  public Path link(RepoRef repo, String commit, String file, Path blob) throws IOException {
    Path pointer = snapshotDir(repo, commit).resolve(file).normalize();
    if (!pointer.startsWith(snapshotDir(repo, commit))) {
      throw new HubException("file name escapes the snapshot directory: " + file);
    }
    Files.createDirectories(pointer.getParent());
    Files.deleteIfExists(pointer); // a stale or dangling link
    Path target = pointer.getParent().toAbsolutePath().relativize(blob.toAbsolutePath());
    try {
      Files.createSymbolicLink(pointer, target);
    } catch (UnsupportedOperationException | FileSystemException e) {
      Files.copy(blob, pointer, StandardCopyOption.REPLACE_EXISTING);
    }
    return pointer;
  }

  /** Whether {@code snapshots/COMMIT/FILE} exists and its target does too. */
  public boolean hasFile(RepoRef repo, String commit, String file) {
    return Files.isRegularFile(snapshotDir(repo, commit).resolve(file)); // follows the link
  }

  static void moveAtomically(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (java.nio.file.AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  @Override
  public String toString() {
    return "HubCache[" + root + "]";
  }
}
