package dev.peft4j.io.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A local stand-in for the Hugging Face Hub on 127.0.0.1 (ephemeral port), enough for
 * {@link HubDownloader}: the revision API, {@code resolve/} with HEAD and GET, LFS files
 * redirected to a "CDN" (a second server, so another origin) with {@code X-Linked-Etag}/{@code X-Linked-Size}, and Range requests.
 */
final class FakeHub implements AutoCloseable {
  /** One request as seen by the server. */
  record Request(String method, String path, String range, String authorization) {}

  private record Repo(Map<String, String> revisions, Map<String, Map<String, byte[]>> filesByCommit, Set<String> lfs) {}

  private final HttpServer server;
  /** LFS objects come from another origin, as the Hub's CDN does. */
  private final HttpServer cdnServer;
  private final Map<String, Repo> repos = new ConcurrentHashMap<>();
  private final Map<String, byte[]> cdn = new ConcurrentHashMap<>();
  private final Map<String, byte[]> corrupted = new ConcurrentHashMap<>();
  private final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
  private volatile String requiredToken;
  private volatile boolean ignoreRange;
  private volatile int dropAfter = -1;

  FakeHub() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.start();
    cdnServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    cdnServer.createContext("/", this::handle);
    cdnServer.start();
  }

  URI endpoint() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  /** Adds a repo whose {@code revision} (e.g. "main") points to {@code commit}. {@code lfs} files go through the CDN. */
  void addRepo(String repoId, String revision, String commit, Map<String, byte[]> files, Set<String> lfs) {
    Repo repo = repos.computeIfAbsent(repoId, k -> new Repo(new ConcurrentHashMap<>(), new ConcurrentHashMap<>(), ConcurrentHashMap.newKeySet()));
    repo.revisions().put(revision, commit);
    repo.revisions().put(commit, commit);
    repo.filesByCommit().put(commit, new LinkedHashMap<>(files));
    repo.lfs().addAll(lfs);
    for (String f : lfs) {
      cdn.put(sha256(files.get(f)), files.get(f));
    }
  }

  /** The CDN serves {@code bytes} for the object whose sha256 is {@code sha256}. */
  void corrupt(String sha256, byte[] bytes) {
    corrupted.put(sha256, bytes);
  }

  /** Every API and resolve request must carry {@code Bearer token}. */
  void requireToken(String token) {
    requiredToken = token;
  }

  /** The CDN answers Range requests with the whole file (200). */
  void ignoreRange(boolean ignore) {
    ignoreRange = ignore;
  }

  /** The CDN's next full (non-Range) answer announces the whole length but drops the connection after {@code n} bytes. */
  void dropNextDownloadAfter(int n) {
    dropAfter = n;
  }

  List<Request> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  void clearRequests() {
    requests.clear();
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Git's blob id, which the Hub uses as the ETag of regular (non-LFS) files. */
  static String gitBlobSha1(byte[] bytes) {
    try {
      MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
      sha1.update(("blob " + bytes.length + "\0").getBytes(StandardCharsets.US_ASCII));
      return HexFormat.of().formatHex(sha1.digest(bytes));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getRawPath();
      String method = ex.getRequestMethod();
      requests.add(new Request(method, path, ex.getRequestHeaders().getFirst("Range"),
          ex.getRequestHeaders().getFirst("Authorization")));
      if (path.startsWith("/cdn/")) {
        serveCdn(ex, path.substring("/cdn/".length()));
        return;
      }
      if (requiredToken != null && !("Bearer " + requiredToken).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
        ex.getResponseHeaders().set("X-Error-Message", "Invalid username or password.");
        send(ex, 401, new byte[0]);
        return;
      }
      if (path.startsWith("/api/models/")) {
        serveApi(ex, path.substring("/api/models/".length()));
      } else if (path.contains("/resolve/")) {
        serveResolve(ex, path);
      } else {
        send(ex, 404, new byte[0]);
      }
    }
  }

  private void serveApi(HttpExchange ex, String rest) throws IOException {
    // org/name/revision/REV (REV percent-encoded)
    String[] parts = rest.split("/", 4);
    if (parts.length != 4 || !parts[2].equals("revision")) {
      send(ex, 404, new byte[0]);
      return;
    }
    Repo repo = repos.get(parts[0] + "/" + parts[1]);
    String revision = URLDecoder.decode(parts[3], StandardCharsets.UTF_8);
    String commit = repo == null ? null : repo.revisions().get(revision);
    if (commit == null) {
      ex.getResponseHeaders().set("X-Error-Code", repo == null ? "RepoNotFound" : "RevisionNotFound");
      send(ex, 404, "{\"error\": \"not found\"}".getBytes(StandardCharsets.UTF_8));
      return;
    }
    StringBuilder json = new StringBuilder("{\"id\": \"" + parts[0] + "/" + parts[1] + "\", \"sha\": \"" + commit + "\", \"siblings\": [");
    boolean first = true;
    for (String f : repo.filesByCommit().get(commit).keySet()) {
      json.append(first ? "" : ", ").append("{\"rfilename\": \"").append(f).append("\"}");
      first = false;
    }
    json.append("]}");
    ex.getResponseHeaders().set("Content-Type", "application/json");
    send(ex, 200, json.toString().getBytes(StandardCharsets.UTF_8));
  }

  private void serveResolve(HttpExchange ex, String path) throws IOException {
    int r = path.indexOf("/resolve/");
    Repo repo = repos.get(path.substring(1, r));
    String[] commitAndFile = path.substring(r + "/resolve/".length()).split("/", 2);
    Map<String, byte[]> files = repo == null ? null : repo.filesByCommit().get(commitAndFile[0]);
    String file = commitAndFile.length < 2 ? "" : URLDecoder.decode(commitAndFile[1], StandardCharsets.UTF_8);
    byte[] bytes = files == null ? null : files.get(file);
    if (bytes == null) {
      ex.getResponseHeaders().set("X-Error-Code", "EntryNotFound");
      send(ex, 404, new byte[0]);
      return;
    }
    ex.getResponseHeaders().set("X-Repo-Commit", commitAndFile[0]);
    if (repo.lfs().contains(file)) {
      String oid = sha256(bytes);
      ex.getResponseHeaders().set("X-Linked-Etag", "\"" + oid + "\"");
      ex.getResponseHeaders().set("X-Linked-Size", Long.toString(bytes.length));
      ex.getResponseHeaders().set("ETag", "\"" + gitBlobSha1(("version https://git-lfs.github.com/spec/v1\noid sha256:" + oid).getBytes(StandardCharsets.UTF_8)) + "\"");
      ex.getResponseHeaders().set("Location", "http://127.0.0.1:" + cdnServer.getAddress().getPort() + "/cdn/" + oid);
      send(ex, 302, new byte[0]);
      return;
    }
    ex.getResponseHeaders().set("ETag", "\"" + gitBlobSha1(bytes) + "\"");
    if (ex.getRequestMethod().equals("HEAD")) {
      ex.getResponseHeaders().set("Content-Length", Long.toString(bytes.length));
    }
    send(ex, 200, bytes);
  }

  private void serveCdn(HttpExchange ex, String oid) throws IOException {
    byte[] bytes = corrupted.getOrDefault(oid, cdn.get(oid));
    if (bytes == null) {
      send(ex, 404, new byte[0]);
      return;
    }
    ex.getResponseHeaders().set("ETag", "\"cdn-" + oid.substring(0, 8) + "\"");
    ex.getResponseHeaders().set("Accept-Ranges", "bytes");
    String range = ex.getRequestHeaders().getFirst("Range");
    if (range != null && !ignoreRange) {
      long start = Long.parseLong(range.substring("bytes=".length(), range.indexOf('-')));
      if (start >= bytes.length) {
        ex.getResponseHeaders().set("Content-Range", "bytes */" + bytes.length);
        send(ex, 416, new byte[0]);
        return;
      }
      ex.getResponseHeaders().set("Content-Range", "bytes " + start + "-" + (bytes.length - 1) + "/" + bytes.length);
      byte[] tail = new byte[bytes.length - (int) start];
      System.arraycopy(bytes, (int) start, tail, 0, tail.length);
      send(ex, 206, tail);
      return;
    }
    int drop = dropAfter;
    if (drop >= 0) {
      dropAfter = -1;
      ex.sendResponseHeaders(200, bytes.length);
      OutputStream out = ex.getResponseBody();
      out.write(bytes, 0, drop);
      out.flush();
      throw new IOException("connection dropped on purpose"); // the server then closes the connection

    }
    send(ex, 200, bytes);
  }

  private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
    boolean head = ex.getRequestMethod().equals("HEAD");
    ex.sendResponseHeaders(status, head || body.length == 0 ? -1 : body.length);
    if (!head && body.length > 0) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
    cdnServer.stop(0);
  }
}
