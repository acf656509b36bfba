package dev.peft4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** A java.net.http client of a test server, with helpers for OpenAI's JSON and SSE. Public for the CLI tests. */
public final class ServeClient {
  public static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  private final URI base;
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10)).build();

  public ServeClient(URI base) {
    this.base = base;
  }

  /** A response: status and body (parsed as JSON when it is, else null). */
  public record Reply(int status, String body, Map<String, List<String>> headers) {
    public JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new UncheckedIOException("not JSON: " + body, e);
      }
    }

    /** The data events of an SSE body, in order ({@code [DONE]} included as text). */
    public List<String> events() {
      List<String> out = new ArrayList<>();
      for (String block : body.split("\n\n")) {
        if (!block.isEmpty()) {
          if (!block.startsWith("data: ")) {
            throw new IllegalStateException("not an SSE data event: " + block);
          }
          out.add(block.substring("data: ".length()));
        }
      }
      return out;
    }
  }

  /** An OpenAI request body; {@code kv} are field/value pairs. */
  public static ObjectNode body(Object... kv) {
    ObjectNode node = JSON.createObjectNode();
    for (int i = 0; i < kv.length; i += 2) {
      node.set((String) kv[i], JSON.valueToTree(kv[i + 1]));
    }
    return node;
  }

  public HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(base.resolve(path)).timeout(TIMEOUT);
  }

  public CompletableFuture<Reply> postAsync(String path, String body, String... headers) {
    HttpRequest.Builder b = request(path).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return send(b.build());
  }

  public Reply post(String path, Object body, String... headers) throws Exception {
    return postAsync(path, body.toString(), headers).get();
  }

  public Reply get(String path) throws Exception {
    return send(request(path).GET().build()).get();
  }

  public Reply delete(String path, String... headers) throws Exception {
    HttpRequest.Builder b = request(path).DELETE();
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return send(b.build()).get();
  }

  public CompletableFuture<Reply> send(HttpRequest request) {
    return client.sendAsync(request, HttpResponse.BodyHandlers.ofString())
        .thenApply(r -> new Reply(r.statusCode(), r.body(), r.headers().map()));
  }

  public HttpClient http() {
    return client;
  }

  /**
   * The text of a streamed completion: its pieces concatenated, checking that the stream is
   * well formed (chunks, one finish reason in the last chunk, then {@code [DONE]}).
   */
  public static Streamed streamed(Reply reply) throws IOException {
    if (reply.status() != 200) {
      throw new IllegalStateException("status " + reply.status() + ": " + reply.body());
    }
    List<String> events = reply.events();
    if (events.isEmpty() || !events.get(events.size() - 1).equals("[DONE]")) {
      throw new IllegalStateException("the stream does not end with [DONE]: " + reply.body());
    }
    StringBuilder text = new StringBuilder();
    String finish = null;
    int chunks = 0;
    for (String event : events.subList(0, events.size() - 1)) {
      JsonNode chunk = JSON.readTree(event);
      if (chunk.has("error")) {
        throw new IllegalStateException("error event: " + event);
      }
      JsonNode choices = chunk.get("choices");
      if (choices.isEmpty()) {
        continue; // usage chunk
      }
      chunks++;
      JsonNode choice = choices.get(0);
      if (finish != null) {
        throw new IllegalStateException("a chunk after the finish reason: " + event);
      }
      JsonNode piece = choice.has("delta") ? choice.get("delta").get("content") : choice.get("text");
      if (piece != null && !piece.isNull()) {
        text.append(piece.asText());
      }
      if (!choice.get("finish_reason").isNull()) {
        finish = choice.get("finish_reason").asText();
      }
    }
    return new Streamed(text.toString(), finish, chunks);
  }

  /** A parsed stream: its text, finish reason and number of chunks with a choice. */
  public record Streamed(String text, String finishReason, int chunks) {}
}
