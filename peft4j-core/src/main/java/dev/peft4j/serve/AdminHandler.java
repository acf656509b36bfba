package dev.peft4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * {@code POST /admin/adapters {"name", "path"}} loads an adapter directory under a name;
 * {@code DELETE /admin/adapters/{name}} unloads one (it answers once no running request uses it;
 * new requests for it get 404 at once). Both run on the scheduler thread between steps. With an
 * admin token every call needs {@code Authorization: Bearer <token>}; without one, only clients on
 * a loopback address are allowed.
 */
final class AdminHandler implements HttpHandler {
  static final String PATH = "/admin/adapters";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Scheduler scheduler;
  private final ServedAdapters adapters;
  private final Optional<String> token;
  private final int maxBodyBytes;

  AdminHandler(Scheduler scheduler, ServedAdapters adapters, Optional<String> token, int maxBodyBytes) {
    this.scheduler = scheduler;
    this.adapters = adapters;
    this.token = token;
    this.maxBodyBytes = maxBodyBytes;
  }

  @Override
  public void handle(HttpExchange exchange) {
    String path = exchange.getRequestURI().getPath();
    if (path.startsWith(PATH + "/") && path.length() > PATH.length() + 1) {
      String name = path.substring(PATH.length() + 1);
      Exchanges.serve(exchange, "DELETE", null, () -> {
        authorize(exchange);
        unload(exchange, name);
      });
    } else {
      Exchanges.serve(exchange, "POST", PATH, () -> {
        authorize(exchange);
        load(exchange);
      });
    }
  }

  private void authorize(HttpExchange exchange) {
    if (token.isPresent()) {
      String given = exchange.getRequestHeaders().getFirst("Authorization");
      byte[] expected = ("Bearer " + token.get()).getBytes(StandardCharsets.UTF_8);
      if (given == null || !MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected)) {
        exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
        throw new ApiException(401, "invalid_request_error",
            "The admin endpoints need the header 'Authorization: Bearer <admin token>'", null, "invalid_api_key");
      }
    } else if (!exchange.getRemoteAddress().getAddress().isLoopbackAddress()) {
      throw new ApiException(403, "invalid_request_error",
          "Without --admin-token the admin endpoints accept loopback clients only", null, "forbidden");
    }
  }

  private void load(HttpExchange exchange) throws IOException, InterruptedException {
    JsonNode body;
    try {
      body = JSON.readTree(Exchanges.body(exchange, maxBodyBytes));
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw ApiException.badRequest("The request body is not valid JSON: " + e.getOriginalMessage(), null);
    }
    String name = body == null ? null : body.path("name").textValue();
    String dir = body == null ? null : body.path("path").textValue();
    if (name == null || dir == null) {
      throw ApiException.badRequest("The body must be {\"name\": \"...\", \"path\": \"adapter directory\"}",
          name == null ? "name" : "path");
    }
    await(scheduler.call(() -> {
      adapters.load(name, Path.of(dir));
      return null;
    }));
    Exchanges.sendJson(exchange, 200, OpenAiJson.write(
        OpenAiJson.model(name, adapters.baseName(), System.currentTimeMillis() / 1000)));
  }

  private void unload(HttpExchange exchange, String name) throws IOException, InterruptedException {
    CompletableFuture<Void> detached = await(scheduler.call(() -> adapters.unload(name)));
    await(detached);
    Exchanges.sendJson(exchange, 200, OpenAiJson.deleted(name));
  }

  /** The task's result; its failure as an {@link ApiException}. */
  private static <T> T await(CompletableFuture<T> task) throws InterruptedException {
    try {
      return task.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof ApiException) {
        throw (ApiException) cause;
      }
      if (cause instanceof IOException || cause instanceof IllegalArgumentException) {
        throw ApiException.badRequest("Could not load the adapter: " + cause.getMessage(), "path");
      }
      throw ApiException.internal(String.valueOf(cause));
    }
  }
}
