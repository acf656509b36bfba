package dev.peft4j.serve;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes a response as server-sent events: {@code data: <json>\n\n} per event, flushed at once,
 * and {@code data: [DONE]\n\n} at the end, as OpenAI streams. An {@link IOException} from a
 * write means the client has gone.
 */
final class SseWriter {
  private final OutputStream out;

  /** Sends the 200 headers ({@code text/event-stream}, chunked). */
  SseWriter(HttpExchange exchange) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
    exchange.getResponseHeaders().set("Cache-Control", "no-cache");
    exchange.sendResponseHeaders(200, 0);
    this.out = exchange.getResponseBody();
  }

  void send(String json) throws IOException {
    out.write(("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** The end-of-stream marker. */
  void done() throws IOException {
    send("[DONE]");
  }
}
