package dev.peft4j.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

/** {@code GET /v1/models} (the base model, then the adapters) and {@code GET /v1/models/{id}}. */
final class ModelsHandler implements HttpHandler {
  private static final String PATH = "/v1/models";

  private final ServedAdapters adapters;
  private final long created = System.currentTimeMillis() / 1000;

  ModelsHandler(ServedAdapters adapters) {
    this.adapters = adapters;
  }

  @Override
  public void handle(HttpExchange exchange) {
    String path = exchange.getRequestURI().getPath();
    Exchanges.serve(exchange, "GET", null, () -> {
      if (path.equals(PATH) || path.equals(PATH + "/")) {
        Exchanges.sendJson(exchange, 200, OpenAiJson.models(adapters.baseName(), adapters.adapterNames(), created));
        return;
      }
      if (!path.startsWith(PATH + "/")) {
        throw ApiException.notFound("No endpoint " + path);
      }
      String id = path.substring(PATH.length() + 1);
      boolean base = dev.peft4j.peft.PeftModel.BASE.equals(adapters.resolve(id));
      Exchanges.sendJson(exchange, 200, OpenAiJson.write(
          OpenAiJson.model(base ? adapters.baseName() : id, base ? null : adapters.baseName(), created)));
    });
  }
}
