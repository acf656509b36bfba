package dev.peft4j.io.hub;

import dev.peft4j.io.ModelWeights;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Downloads the files of a model repository that peft4j uses into the Hugging Face cache, in
 * the layout of Python's {@code huggingface_hub} ({@link HubCache}).
 *
 * <p>For {@code download(org/name@rev)}:
 *
 * <ol>
 *   <li>{@code GET {endpoint}/api/models/org/name/revision/rev} gives the commit hash and the
 *       file list;
 *   <li>of {@code config.json}, {@code generation_config.json}, {@code tokenizer.json},
 *       {@code tokenizer_config.json}, {@code special_tokens_map.json},
 *       {@code adapter_config.json}, {@code adapter_model.safetensors} (else
 *       {@code adapter_model.bin}) and the first of {@code model.safetensors},
 *       {@code model.safetensors.index.json}, {@code pytorch_model.bin},
 *       {@code pytorch_model.bin.index.json} (with every shard an index lists), those the repo has are fetched from {@code {endpoint}/org/name/resolve/COMMIT/FILE}:
 *       a HEAD request gives the ETag ({@code X-Linked-Etag} or {@code ETag}) and size, the body
 *       goes to {@code blobs/ETAG.incomplete} and is renamed to {@code blobs/ETAG}, and
 *       {@code snapshots/COMMIT/FILE} becomes a relative symlink to it;
 *   <li>{@code refs/rev} is written with the commit hash, last, so a ref always points at a
 *       complete snapshot.
 * </ol>
 *
 * <p>An existing {@code .incomplete} file is resumed with {@code Range: bytes=N-} (a server that
 * answers 200 instead of 206 gets a fresh download). When the ETag is a 64-hex SHA-256 (LFS files
 * such as safetensors), the downloaded bytes are verified against it; on mismatch the file is
 * deleted and the download fails. Files already in the snapshot are not fetched again. Only the
 * endpoint's host receives the {@code HF_TOKEN}.
 */
public final class HubDownloader {
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern SAFE_ETAG = Pattern.compile("[A-Za-z0-9._-]{1,128}");
  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
  /** Serialises threads of this JVM on one blob; file locks alone throw for same-JVM overlap. */
  private static final ConcurrentHashMap<Path, Object> JVM_LOCKS = new ConcurrentHashMap<>();

  private final HubSettings settings;
  private final HubCache cache;
  private final HubHttp http;

  /** A downloader for the given settings, with its own HTTP client. */
  public HubDownloader(HubSettings settings) {
    this(settings, HubHttp.defaultClient());
  }

  /**
   * A downloader using {@code client}, which must not follow redirects by itself
   * ({@link HttpClient.Redirect#NEVER}), so that the token stays with the endpoint's host.
   */
  public HubDownloader(HubSettings settings, HttpClient client) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.cache = new HubCache(settings.cacheDir());
    this.http = new HubHttp(client, settings.endpoint(), settings.token());
  }

  /** The cache this downloader fills. */
  public HubCache cache() {
    return cache;
  }

  /**
   * Downloads what peft4j needs of {@code repo} at its revision.
   *
   * @return the snapshot directory {@code models--ORG--NAME/snapshots/COMMIT}
   * @throws ModelNotFoundException if the Hub has no such repository or revision (HTTP 404)
   * @throws HubException on any other HTTP error, network error or checksum mismatch, naming the
   *     URL; files completed before the failure stay in the cache
   * @throws IllegalStateException if the settings are offline
   */
  public Path download(RepoRef repo) throws IOException {
    if (settings.offline()) {
      throw new IllegalStateException("HF_HUB_OFFLINE is set: not downloading " + repo);
    }
    RepoInfo info = repoInfo(repo);
    List<String> files = ModelFiles.select(info.files());
    if (files.isEmpty()) {
      throw new HubException(repo.repoId() + " at " + info.sha() + " has none of the files peft4j uses "
          + ModelFiles.METADATA + " + " + ModelFiles.ADAPTER_WEIGHTS + " + one of " + ModelWeights.WEIGHT_FILES);
    }
    for (String file : files) {
      Path local = fetch(repo, info.sha(), file);
      if (ModelFiles.isIndex(file)) {
        for (String shard : ModelFiles.shards(local, info.files())) {
          fetch(repo, info.sha(), shard);
        }
      }
    }
    cache.writeRef(repo, info.sha());
    return cache.snapshotDir(repo, info.sha());
  }

  private RepoInfo repoInfo(RepoRef repo) throws IOException {
    URI uri = URI.create(settings.endpoint() + "/api/models/" + repo.repoId() + "/revision/"
        + encodeSegment(repo.revision()));
    HttpResponse<byte[]> r = http.send("GET", uri, Map.of(), HttpResponse.BodyHandlers.ofByteArray(), true);
    if (r.statusCode() == 404) {
      throw new ModelNotFoundException(repo.toString(), List.of(),
          "no repository " + repo.repoId() + " with revision " + repo.revision() + " on the Hub: HTTP 404 for GET " + uri);
    }
    if (r.statusCode() != 200) {
      throw HubHttp.statusError("GET", uri, r);
    }
    return RepoInfo.parse(r.body(), uri);
  }

  /** Makes {@code snapshots/COMMIT/FILE} present, downloading its blob if needed. */
  private Path fetch(RepoRef repo, String commit, String file) throws IOException {
    if (cache.hasFile(repo, commit, file)) {
      return cache.snapshotDir(repo, commit).resolve(file);
    }
    URI uri = URI.create(settings.endpoint() + "/" + repo.repoId() + "/resolve/" + commit + "/" + encodePath(file));
    FileMeta meta = head(uri);
    Path blob = cache.blob(repo, meta.etag());
    if (!Files.isRegularFile(blob)) {
      Path lockFile = cache.lockFile(repo, meta.etag());
      Files.createDirectories(lockFile.getParent());
      synchronized (JVM_LOCKS.computeIfAbsent(lockFile, k -> new Object())) {
        try (FileChannel lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
          lockChannel.lock(); // released when the channel closes
          if (!Files.isRegularFile(blob)) { // another process may have finished it meanwhile
            downloadBlob(meta, blob);
          }
        }
      }
    }
    return cache.link(repo, commit, file, blob);
  }

  private record FileMeta(URI source, URI download, String etag, OptionalLong size) {}

  /** HEAD without following the redirect to the CDN, whose response carries X-Linked-Etag/-Size. */
  private FileMeta head(URI uri) throws IOException {
    HttpResponse<Void> r = http.send("HEAD", uri, Map.of("Accept-Encoding", "identity"),
        HttpResponse.BodyHandlers.discarding(), false);
    boolean redirect = HubHttp.isRedirect(r.statusCode());
    if (r.statusCode() != 200 && !redirect) {
      throw HubHttp.statusError("HEAD", uri, r);
    }
    String rawEtag = r.headers().firstValue("X-Linked-Etag").or(() -> r.headers().firstValue("ETag"))
        .orElseThrow(() -> new HubException("no ETag in the answer to HEAD " + uri));
    String etag = normalizeEtag(rawEtag);
    if (!SAFE_ETAG.matcher(etag).matches()) {
      throw new HubException("unusable ETag \"" + rawEtag + "\" for " + uri);
    }
    OptionalLong size = parseLong(r.headers().firstValue("X-Linked-Size")
        .orElse(redirect ? null : r.headers().firstValue("Content-Length").orElse(null)));
    URI download = redirect ? r.uri().resolve(r.headers().firstValue("Location").orElseThrow()) : r.uri();
    return new FileMeta(uri, download, etag, size);
  }

  /** Downloads into {@code blob.incomplete}, resuming it, verifies, and renames to {@code blob}. */
  private void downloadBlob(FileMeta meta, Path blob) throws IOException {
    Files.createDirectories(blob.getParent());
    Path partial = blob.resolveSibling(blob.getFileName() + ".incomplete");
    long have = Files.isRegularFile(partial) ? Files.size(partial) : 0;
    if (meta.size().isPresent() && have > meta.size().getAsLong()) {
      Files.delete(partial);
      have = 0;
    }
    if (!(meta.size().isPresent() && have == meta.size().getAsLong() && have > 0)) {
      fetchBody(meta, partial, have);
    }
    if (meta.size().isPresent() && Files.size(partial) != meta.size().getAsLong()) {
      throw new HubException("download of " + meta.source() + " ended early: " + Files.size(partial) + " of "
          + meta.size().getAsLong() + " bytes (kept " + partial + " to resume)");
    }
    if (SHA256.matcher(meta.etag()).matches()) {
      String actual = sha256(partial);
      if (!actual.equals(meta.etag())) {
        Files.delete(partial);
        throw new HubException("checksum mismatch for " + meta.source() + ": expected sha256 " + meta.etag()
            + ", got " + actual + " (download deleted)");
      }
    }
    HubCache.moveAtomically(partial, blob);
  }

  /**
   * GETs the file into {@code partial}, appending to its {@code have} bytes when the server
   * honours the Range request (206), starting over when it sends everything (200).
   */
  private void fetchBody(FileMeta meta, Path partial, long have) throws IOException {
    Map<String, String> headers = have > 0
        ? Map.of("Range", "bytes=" + have + "-", "Accept-Encoding", "identity")
        : Map.of("Accept-Encoding", "identity");
    HttpResponse<InputStream> r = http.send("GET", meta.download(), headers, HttpResponse.BodyHandlers.ofInputStream(), true);
    boolean startOver = false;
    try (InputStream body = r.body()) {
      if (r.statusCode() == 416 && have > 0) {
        startOver = true; // e.g. the partial file is already complete but its size was unknown
      } else if (r.statusCode() == 206 && have > 0) {
        long start = r.headers().firstValue("Content-Range").map(HubDownloader::rangeStart).orElse(-1L);
        if (start != have) {
          throw new HubException("GET " + meta.download() + " answered Range bytes=" + have
              + "- with Content-Range " + r.headers().firstValue("Content-Range").orElse("<none>"));
        }
        write(body, partial, true, meta);
      } else if (r.statusCode() == 200) {
        write(body, partial, false, meta); // no range support, or a fresh download
      } else {
        throw HubHttp.statusError("GET", meta.download(), r);
      }
    }
    if (startOver) {
      Files.delete(partial);
      fetchBody(meta, partial, 0);
    }
  }

  private static void write(InputStream body, Path partial, boolean append, FileMeta meta) throws HubException {
    try (OutputStream out = append
        ? Files.newOutputStream(partial, StandardOpenOption.CREATE, StandardOpenOption.APPEND)
        : Files.newOutputStream(partial, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      body.transferTo(out);
    } catch (IOException e) {
      throw new HubException("download of " + meta.download() + " failed (kept " + partial
          + " to resume): " + e, e);
    }
  }

  /** {@code huggingface_hub._normalize_etag}: drop a weak-validator prefix and the quotes. */
  static String normalizeEtag(String etag) {
    String e = etag.trim();
    if (e.startsWith("W/")) {
      e = e.substring(2);
    }
    if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) {
      e = e.substring(1, e.length() - 1);
    }
    return e;
  }

  private static long rangeStart(String contentRange) {
    Matcher m = CONTENT_RANGE.matcher(contentRange.trim());
    return m.matches() ? Long.parseLong(m.group(1)) : -1;
  }

  private static OptionalLong parseLong(String s) {
    if (s == null) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(s.trim()));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  static String sha256(Path file) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  /** Percent-encodes each segment of a repo file path, keeping the slashes. */
  static String encodePath(String path) {
    StringBuilder out = new StringBuilder();
    for (String segment : path.split("/", -1)) {
      if (out.length() > 0) {
        out.append('/');
      }
      out.append(encodeSegment(segment));
    }
    return out.toString();
  }

  /** Percent-encodes everything but RFC 3986 unreserved characters (so {@code /} becomes %2F). */
  static String encodeSegment(String s) {
    StringBuilder out = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xFF);
      if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
        out.append(c);
      } else {
        out.append('%').append(String.format("%02X", b & 0xFF));
      }
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return "HubDownloader[" + settings + "]";
  }
}
