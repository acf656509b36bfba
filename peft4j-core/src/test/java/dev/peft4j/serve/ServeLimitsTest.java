package dev.peft4j.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.peft4j.generate.GenerationResult;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Request limits (413, 400, 404, 405, 429) and graceful shutdown. */
@Timeout(60)
class ServeLimitsTest extends WithServeFixture {
  private static InferenceServer start(ServerConfig.Builder config) throws Exception {
    return InferenceServer.start(fixture.loadBase(), fixture.tokenizer(), "tiny-llama", fixture.adapterDirs(),
        config.port(0).build());
  }

  private static void assertError(ServeClient.Reply reply, int status, String param, String message) {
    assertThat(reply.status()).as(reply.body()).isEqualTo(status);
    assertThat(reply.headers().get("content-type")).containsExactly("application/json");
    JsonNode error = reply.json().get("error");
    assertThat(error.get("message").asText()).contains(message);
    assertThat(error.get("type").asText()).isNotEmpty();
    assertThat(error.has("code")).isTrue();
    if (param == null) {
      assertThat(error.get("param").isNull()).isTrue();
    } else {
      assertThat(error.get("param").asText()).isEqualTo(param);
    }
  }

  @Test
  void badRequestsGetOpenAiErrorsAndTheServerKeepsServing() throws Exception {
    try (InferenceServer server = start(ServerConfig.builder().maxTokens(32).maxBodyBytes(1024))) {
      ServeClient client = new ServeClient(server.uri());
      String big = ServeClient.body("model", "a", "prompt", "x".repeat(2000)).toString();
      ServeClient.Reply tooLarge = client.postAsync("/v1/completions", big).get();
      assertError(tooLarge, 413, null, "larger than this server's limit of 1024 bytes");
      assertThat(tooLarge.json().get("error").get("code").asText()).isEqualTo("request_too_large");

      assertError(client.post("/v1/completions", ServeClient.body("model", "a", "prompt", "hi", "max_tokens", 33)),
          400, "max_tokens", "'max_tokens' is 33, more than this server's limit of 32");
      assertError(client.post("/v1/chat/completions", ServeClient.body("model", "a", "max_tokens", 40,
          "messages", List.of(java.util.Map.of("role", "user", "content", "hi")))), 400, "max_tokens", "limit of 32");
      assertError(client.post("/v1/completions", "{\"model\": \"a\", \"prompt\": "), 400, null, "not valid JSON");
      assertError(client.post("/v1/completions", "{\"model\": \"a\"} trailing"), 400, null, "not valid JSON");
      assertError(client.post("/v1/completions", "[1, 2]"), 400, null, "must be a JSON object");
      assertError(client.post("/v1/completions", ServeClient.body("prompt", "hi")), 400, "model", "'model' is required");
      assertError(client.post("/v1/completions", ServeClient.body("model", "a")), 400, "prompt", "'prompt' is required");
      assertError(client.post("/v1/completions", ServeClient.body("model", "a", "prompt", List.of("x", "y"))), 400,
          "prompt", "one prompt per request");
      assertError(client.post("/v1/completions", ServeClient.body("model", "a", "prompt", List.of(5, 999))), 400,
          "prompt", "'prompt' token 1 is 999, not an id in [0, 257)");
      assertError(client.post("/v1/completions", ServeClient.body("model", "a", "prompt", "hi", "temperature", 3)),
          400, "temperature", "'temperature' must be a number in [0.0, 2.0]");
      assertError(client.post("/v1/completions", ServeClient.body("model", "a", "prompt", "hi", "n", 2)), 400, "n",
          "Only n=1");
      assertError(client.post("/v1/completions", ServeClient.body("model", "a", "prompt", "hi", "max_tokens", 0)),
          400, "max_tokens", "must be a positive integer");
      assertError(client.post("/v1/completions", ServeClient.body("model", "a", "prompt", "hi", "stop", List.of(""))),
          400, "stop", "non-empty");
      long[] longPrompt = LongStream.range(0, 240).map(i -> 'a' + i % 26).toArray();
      assertError(client.post("/v1/completions", ServeClient.body("model", "a", "prompt", longPrompt,
          "max_tokens", 20)), 400, "max_tokens", "context length is 256 tokens; the prompt has 240");
      // prefix tuning's 4 positions count too: 240 + 12 fits the context without them, not with them
      assertError(client.post("/v1/completions", ServeClient.body("model", "prefix", "prompt", longPrompt,
          "max_tokens", 13)), 400, "max_tokens", "the prompt has 240 after the adapter's 4 virtual positions");
      assertError(client.post("/v1/chat/completions", ServeClient.body("model", "a", "messages", List.of())), 400,
          "messages", "non-empty array");

      ServeClient.Reply unknown = client.post("/v1/completions", ServeClient.body("model", "zz", "prompt", "hi"));
      assertError(unknown, 404, "model", "The model 'zz' does not exist; this server serves [tiny-llama, a, b, c, prefix, prompt]");
      assertThat(unknown.json().get("error").get("code").asText()).isEqualTo("model_not_found");
      ServeClient.Reply wrongMethod = client.get("/v1/completions");
      assertError(wrongMethod, 405, null, "Use POST");
      assertThat(wrongMethod.headers().get("allow")).containsExactly("POST");
      assertError(client.get("/v1/nothing"), 404, null, "No endpoint /v1/nothing");
      assertError(client.post("/v1/completionsX", ServeClient.body()), 404, null, "No endpoint");
      assertError(client.post("/v2/anything", ServeClient.body()), 404, null, "No endpoint /v2/anything");
      assertThat(client.get("/health").status()).isEqualTo(200);

      // still serving correctly
      GenerationResult expected = fixture.offline("b", "still fine?", 12);
      ServeClient.Reply ok = client.post("/v1/completions", ServeClient.body("model", "b", "prompt", "still fine?",
          "max_tokens", 12, "temperature", 0));
      assertThat(ok.status()).as(ok.body()).isEqualTo(200);
      assertThat(ok.json().get("choices").get(0).get("text").asText()).isEqualTo(expected.text().orElseThrow());
    }
  }

  @Test
  void aFullQueueGets429AndTheQueuedRequestsStillComplete() throws Exception {
    try (InferenceServer server = start(ServerConfig.builder().maxBatch(1).maxQueue(2))) {
      ServeClient client = new ServeClient(server.uri());
      CountDownLatch entered = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      server.scheduler().call(() -> { // holds the scheduler thread, so nothing leaves the queue
        entered.countDown();
        return release.await(30, TimeUnit.SECONDS);
      });
      assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
      List<CompletableFuture<ServeClient.Reply>> queued = new ArrayList<>();
      String[] prompts = {"first in line", "second in line"};
      for (String prompt : prompts) {
        queued.add(client.postAsync("/v1/completions", ServeClient.body("model", "c", "prompt", prompt,
            "max_tokens", 10, "temperature", 0).toString()));
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (server.stats().accepted.get() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertThat(server.stats().accepted.get()).isEqualTo(2);

      ServeClient.Reply rejected = client.post("/v1/completions", ServeClient.body("model", "a", "prompt", "one more"));
      assertError(rejected, 429, null, "2 requests are already waiting");
      assertThat(rejected.json().get("error").get("code").asText()).isEqualTo("queue_full");

      release.countDown();
      for (int i = 0; i < prompts.length; i++) {
        ServeClient.Reply reply = queued.get(i).get(30, TimeUnit.SECONDS);
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        assertThat(reply.json().get("choices").get(0).get("text").asText())
            .isEqualTo(fixture.offline("c", prompts[i], 10).text().orElseThrow());
      }
      assertThat(server.stats().rejected.get()).isEqualTo(1);
    }
  }

  /** Sends a streaming request and returns once its first event has arrived (it is then running). */
  private static HttpResponse<InputStream> startStream(ServeClient client, String model, String prompt, int maxTokens)
      throws Exception {
    HttpRequest request = client.request("/v1/completions").header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(ServeClient.body("model", model, "prompt", prompt,
            "max_tokens", maxTokens, "temperature", 0, "stream", true).toString()))
        .build();
    HttpResponse<InputStream> response = client.http().send(request, HttpResponse.BodyHandlers.ofInputStream());
    assertThat(response.statusCode()).isEqualTo(200);
    return response;
  }

  @Test
  void closeLetsARunningStreamFinishThenClosesThePort() throws Exception {
    InferenceServer server = start(ServerConfig.builder());
    ServeClient client = new ServeClient(server.uri());
    String prompt = "a long story";
    HttpResponse<InputStream> running = startStream(client, "a", prompt, 150);
    Thread closer = new Thread(server::close);
    closer.start();
    String body = new String(running.body().readAllBytes(), StandardCharsets.UTF_8);
    closer.join(20_000);
    assertThat(closer.isAlive()).isFalse();
    ServeClient.Streamed streamed = ServeClient.streamed(new ServeClient.Reply(200, body, java.util.Map.of()));
    assertThat(streamed.text()).isEqualTo(fixture.offline("a", prompt, 150).text().orElseThrow());
    assertThatThrownBy(() -> client.get("/health")).hasCauseInstanceOf(java.net.ConnectException.class);
    server.close(); // idempotent
  }

  @Test
  void closeCancelsStreamsStillRunningAfterTheShutdownTimeout() throws Exception {
    InferenceServer server = start(ServerConfig.builder().shutdownTimeout(Duration.ZERO));
    ServeClient client = new ServeClient(server.uri());
    HttpResponse<InputStream> running = startStream(client, "b", "never finishes", 200);
    server.close();
    String body = new String(running.body().readAllBytes(), StandardCharsets.UTF_8);
    List<String> events = new ServeClient.Reply(200, body, java.util.Map.of()).events();
    assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
    assertThat(events.get(events.size() - 2)).contains("\"error\"").contains("shutting down");
  }
}
