package dev.peft4j.serve;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** What every endpoint does with an exchange: method and path checks, bounded bodies, JSON and errors. */
final class Exchanges {
  private static final System.Logger LOG = System.getLogger(Exchanges.class.getName());
  /** An oversized body is read (and discarded) up to this much, so the client gets to read the 413. */
  private static final long DRAIN_LIMIT = 1 << 20;

  private Exchanges() {}

  /** The work of one endpoint; may throw {@link ApiException} for an error response. */
  @FunctionalInterface
  interface Work {
    void run() throws IOException, InterruptedException;
  }

  /**
   * Runs {@code work} if the request's method is {@code method} (null: any) and its path is
   * exactly {@code path} (null: any path under the context); answers errors in OpenAI's shape
   * unless the response has started; closes the exchange.
   */
  static void serve(HttpExchange exchange, String method, String path, Work work) {
    try {
      if (path != null && !exchange.getRequestURI().getPath().equals(path)) {
        throw ApiException.notFound("No endpoint " + exchange.getRequestURI().getPath());
      }
      if (method != null && !exchange.getRequestMethod().equalsIgnoreCase(method)) {
        exchange.getResponseHeaders().set("Allow", method);
        throw new ApiException(405, "invalid_request_error", "Use " + method + " for "
            + exchange.getRequestURI().getPath(), null, "method_not_allowed");
      }
      work.run();
    } catch (ApiException e) {
      sendError(exchange, e);
    } catch (IOException e) {
      // the client has gone; nothing to answer
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      sendError(exchange, ApiException.shuttingDown());
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.ERROR, "request failed: " + exchange.getRequestURI(), e);
      sendError(exchange, ApiException.internal(e.toString()));
    } finally {
      exchange.close();
    }
  }

  /**
   * The request body, at most {@code limit} bytes.
   *
   * @throws ApiException 413 if it is longer
   */
  static byte[] body(HttpExchange exchange, int limit) throws IOException {
    InputStream in = exchange.getRequestBody();
    String declared = exchange.getRequestHeaders().getFirst("Content-Length");
    if (declared != null) {
      try {
        if (Long.parseLong(declared.strip()) > limit) {
          drain(in);
          throw ApiException.tooLarge(limit);
        }
      } catch (NumberFormatException e) {
        throw ApiException.badRequest("Content-Length is not a number: " + declared, null);
      }
    }
    byte[] body = in.readNBytes(limit + 1);
    if (body.length > limit) {
      drain(in);
      throw ApiException.tooLarge(limit);
    }
    return body;
  }

  static void sendJson(HttpExchange exchange, int status, String json) throws IOException {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** Answers {@code error} as JSON, unless a response has already started (then nothing can be said). */
  static void sendError(HttpExchange exchange, ApiException error) {
    if (exchange.getResponseCode() != -1) {
      return;
    }
    try {
      sendJson(exchange, error.status(), OpenAiJson.error(error));
    } catch (IOException gone) {
      // the client has gone
    }
  }

  private static void drain(InputStream in) throws IOException {
    long left = DRAIN_LIMIT;
    byte[] buffer = new byte[8192];
    for (int n; left > 0 && (n = in.read(buffer, 0, (int) Math.min(buffer.length, left))) > 0; ) {
      left -= n;
    }
  }
}
