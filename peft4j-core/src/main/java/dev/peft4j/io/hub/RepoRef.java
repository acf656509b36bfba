package dev.peft4j.io.hub;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A model repository on the Hub and a revision of it, as written on a command line:
 * {@code org/name} or {@code org/name@revision}. The revision is a branch or tag name (default
 * {@code main}) or a 40-hex commit hash.
 *
 * @param repoId {@code org/name}
 * @param revision branch, tag or commit hash
 */
public record RepoRef(String repoId, String revision) {
  /** The revision used when none is given. */
  public static final String DEFAULT_REVISION = "main";

  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}");
  private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

  public RepoRef {
    Objects.requireNonNull(repoId, "repoId");
    Objects.requireNonNull(revision, "revision");
    if (!isRepoId(repoId)) {
      throw new IllegalArgumentException("not a repo id of the form org/name: \"" + repoId + "\"");
    }
    if (!isSafeRevision(revision)) {
      throw new IllegalArgumentException("invalid revision: \"" + revision + "\"");
    }
  }

  /**
   * Parses {@code org/name} or {@code org/name@revision}.
   *
   * @return empty if {@code text} does not have that form
   */
  public static Optional<RepoRef> parse(String text) {
    int at = text.indexOf('@');
    String id = at < 0 ? text : text.substring(0, at);
    String rev = at < 0 ? DEFAULT_REVISION : text.substring(at + 1);
    if (!isRepoId(id) || !isSafeRevision(rev)) {
      return Optional.empty();
    }
    return Optional.of(new RepoRef(id, rev));
  }

  /** Whether {@link #revision()} is a full commit hash (then no {@code refs/} file is involved). */
  public boolean isCommitHash() {
    return isCommitHash(revision);
  }

  static boolean isCommitHash(String s) {
    return COMMIT.matcher(s).matches();
  }

  /** The cache folder name, {@code models--ORG--NAME}, as {@code huggingface_hub.repo_folder_name}. */
  public String cacheFolderName() {
    return "models--" + repoId.replace("/", "--");
  }

  @Override
  public String toString() {
    return repoId + "@" + revision;
  }

  private static boolean isRepoId(String s) {
    String[] parts = s.split("/", -1);
    if (parts.length != 2) {
      return false;
    }
    for (String p : parts) {
      if (!SEGMENT.matcher(p).matches() || p.contains("--") || p.contains("..") || p.endsWith(".")) {
        return false;
      }
    }
    return true;
  }

  /** Non-empty, no whitespace or backslash, and safe as a relative path under {@code refs/}. */
  private static boolean isSafeRevision(String s) {
    if (s.isEmpty() || s.startsWith("/") || s.endsWith("/")) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isWhitespace(c) || Character.isISOControl(c) || c == '\\' || c == '@') {
        return false;
      }
    }
    for (String segment : s.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        return false;
      }
    }
    return true;
  }
}
