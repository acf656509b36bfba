package dev.peft4j.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.peft4j.generate.GenerationResult;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Loading and unloading adapters at run time through the admin endpoints. */
@Timeout(60)
class ServeAdminTest extends WithServeFixture {
  private static final String[] AUTH = {"Authorization", "Bearer s3cret"};

  private static List<String> modelIds(ServeClient client) throws Exception {
    List<String> ids = new ArrayList<>();
    client.get("/v1/models").json().get("data").forEach(m -> ids.add(m.get("id").asText()));
    return ids;
  }

  private static String complete(ServeClient client, String model, String prompt, int maxTokens) throws Exception {
    ServeClient.Reply reply = client.post("/v1/completions", ServeClient.body("model", model, "prompt", prompt,
        "max_tokens", maxTokens, "temperature", 0));
    assertThat(reply.status()).as(reply.body()).isEqualTo(200);
    return reply.json().get("choices").get(0).get("text").asText();
  }

  private static Object load(String name, Path path) {
    return ServeClient.body("name", name, "path", path.toString());
  }

  @Test
  void adaptersLoadAndUnloadWhileServingBehindTheAdminToken() throws Exception {
    try (InferenceServer server = InferenceServer.start(fixture.loadBase(), fixture.tokenizer(), "tiny-llama",
        Map.of("a", fixture.adapterDirs().get("a")), ServerConfig.builder().port(0).adminToken("s3cret").build())) {
      ServeClient client = new ServeClient(server.uri());
      Path b = fixture.adapterDirs().get("b");
      assertThat(client.post("/admin/adapters", load("b", b)).status()).isEqualTo(401);
      ServeClient.Reply wrong = client.post("/admin/adapters", load("b", b), "Authorization", "Bearer nope");
      assertThat(wrong.status()).isEqualTo(401);
      assertThat(wrong.headers().get("www-authenticate")).containsExactly("Bearer");
      assertThat(client.post("/v1/completions", ServeClient.body("model", "b", "prompt", "x")).status()).isEqualTo(404);

      ServeClient.Reply loaded = client.post("/admin/adapters", load("b", b), AUTH);
      assertThat(loaded.status()).as(loaded.body()).isEqualTo(200);
      assertThat(loaded.json().get("id").asText()).isEqualTo("b");
      assertThat(loaded.json().get("parent").asText()).isEqualTo("tiny-llama");
      assertThat(modelIds(client)).containsExactly("tiny-llama", "a", "b");
      assertThat(complete(client, "b", "new adapter", 16))
          .isEqualTo(fixture.offline("b", "new adapter", 16).text().orElseThrow());
      assertThat(complete(client, "a", "old adapter", 16))
          .isEqualTo(fixture.offline("a", "old adapter", 16).text().orElseThrow());

      assertThat(client.post("/admin/adapters", load("b", b), AUTH).status()).isEqualTo(409);
      ServeClient.Reply badPath = client.post("/admin/adapters", load("d", dir.resolve("missing")), AUTH);
      assertThat(badPath.status()).isEqualTo(400);
      assertThat(badPath.json().get("error").get("message").asText()).contains("Could not load the adapter");
      assertThat(client.post("/admin/adapters", load("x.y", b), AUTH).status()).isEqualTo(400);
      assertThat(client.post("/admin/adapters", "{\"name\": \"d\"}", AUTH).status()).isEqualTo(400);

      ServeClient.Reply deleted = client.delete("/admin/adapters/b", AUTH);
      assertThat(deleted.status()).as(deleted.body()).isEqualTo(200);
      assertThat(deleted.json().get("deleted").asBoolean()).isTrue();
      ServeClient.Reply gone = client.post("/v1/completions", ServeClient.body("model", "b", "prompt", "x"));
      assertThat(gone.status()).isEqualTo(404);
      assertThat(gone.json().get("error").get("code").asText()).isEqualTo("model_not_found");
      assertThat(client.delete("/admin/adapters/b", AUTH).status()).isEqualTo(404);
      assertThat(client.delete("/admin/adapters/a").status()).isEqualTo(401);
      assertThat(modelIds(client)).containsExactly("tiny-llama", "a");
      // the name can be used again
      assertThat(client.post("/admin/adapters", load("b", fixture.adapterDirs().get("c")), AUTH).status())
          .isEqualTo(200);
      assertThat(complete(client, "b", "reused name", 16))
          .isEqualTo(fixture.offline("c", "reused name", 16).text().orElseThrow());
    }
  }

  @Test
  void unloadingWaitsForRunningRequestsOfThatAdapter() throws Exception {
    try (InferenceServer server = InferenceServer.start(fixture.loadBase(), fixture.tokenizer(), "tiny-llama",
        fixture.adapterDirs(), ServerConfig.builder().port(0).build())) {
      ServeClient client = new ServeClient(server.uri());
      String prompt = "keep going";
      GenerationResult expected = fixture.offline("c", prompt, 120);
      assertThat(expected.ids()).as("long enough to be running when the DELETE comes").hasSize(120);
      HttpRequest request = client.request("/v1/completions").header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(ServeClient.body("model", "c", "prompt", prompt,
              "max_tokens", 120, "temperature", 0, "stream", true).toString())).build();
      HttpResponse<InputStream> running = client.http().send(request, HttpResponse.BodyHandlers.ofInputStream());
      assertThat(running.statusCode()).isEqualTo(200);
      // no token needed from loopback without --admin-token
      CompletableFuture<ServeClient.Reply> delete = client.send(client.request("/admin/adapters/c").DELETE().build());
      String body = new String(running.body().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(ServeClient.streamed(new ServeClient.Reply(200, body, Map.of())).text())
          .isEqualTo(expected.text().orElseThrow());
      assertThat(delete.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(client.post("/v1/completions", ServeClient.body("model", "c", "prompt", "x")).status())
          .isEqualTo(404);
      assertThat(complete(client, "a", prompt, 10)).isEqualTo(fixture.offline("a", prompt, 10).text().orElseThrow());
    }
  }

  @Test
  void theFirstAdapterCanBeLoadedIntoAServerStartedWithoutAny() throws Exception {
    try (InferenceServer server = InferenceServer.start(fixture.loadBase(), fixture.tokenizer(), "tiny-llama",
        Map.of(), ServerConfig.builder().port(0).build())) {
      ServeClient client = new ServeClient(server.uri());
      assertThat(modelIds(client)).containsExactly("tiny-llama");
      String prompt = "from scratch";
      assertThat(complete(client, "tiny-llama", prompt, 12))
          .isEqualTo(fixture.offline(null, prompt, 12).text().orElseThrow());
      ServeClient.Reply bad = client.post("/admin/adapters", load("c", dir.resolve("missing")));
      assertThat(bad.status()).isEqualTo(400);
      assertThat(modelIds(client)).containsExactly("tiny-llama");
      JsonNode prefix = client.post("/admin/adapters", load("p", fixture.adapterDirs().get("prefix"))).json();
      assertThat(prefix.get("id").asText()).isEqualTo("p");
      assertThat(complete(client, "p", prompt, 12)).isEqualTo(fixture.offline("prefix", prompt, 12).text().orElseThrow());
      JsonNode ok = client.post("/admin/adapters", load("c", fixture.adapterDirs().get("c"))).json();
      assertThat(ok.get("id").asText()).isEqualTo("c");
      assertThat(complete(client, "c", prompt, 12)).isEqualTo(fixture.offline("c", prompt, 12).text().orElseThrow());
      assertThat(complete(client, "base", prompt, 12)).isEqualTo(fixture.offline(null, prompt, 12).text().orElseThrow());
    }
  }
}
