package dev.peft4j.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.generate.GenerationResult;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A client that goes away mid-stream loses its row; everyone else is served as before. */
class ServeDisconnectTest extends WithServeFixture {
  /** A prompt whose greedy output with adapter {@code a} runs to 200 tokens (no early EOS). */
  private static String longRunningPrompt() throws Exception {
    for (int i = 0; ; i++) {
      String prompt = "Tell me everything, part " + i;
      if (fixture.offline("a", prompt, 200).ids().length == 200) {
        return prompt;
      }
    }
  }

  private static List<CompletableFuture<ServeClient.Reply>> streams(ServeClient client, String[] models,
      String[] prompts, int maxTokens) {
    List<CompletableFuture<ServeClient.Reply>> replies = new ArrayList<>();
    for (int i = 0; i < models.length; i++) {
      replies.add(client.postAsync("/v1/completions", ServeClient.body("model", models[i], "prompt", prompts[i],
          "max_tokens", maxTokens, "temperature", 0, "stream", true).toString()));
    }
    return replies;
  }

  private static void assertOffline(List<CompletableFuture<ServeClient.Reply>> replies, String[] models,
      String[] prompts, int maxTokens) throws Exception {
    for (int i = 0; i < models.length; i++) {
      GenerationResult expected = fixture.offline(models[i], prompts[i], maxTokens);
      assertThat(ServeClient.streamed(replies.get(i).get(30, TimeUnit.SECONDS)).text()).as(models[i])
          .isEqualTo(expected.text().orElseThrow());
    }
  }

  @Test
  @Timeout(90)
  void aClientDisconnectingMidStreamIsDroppedAndOthersAreServedCorrectly() throws Exception {
    String leaver = longRunningPrompt();
    String[] models = {"b", "c", "base", "a"};
    String[] prompts = {"stay 1", "stay 2", "stay 3", "stay 4"};
    for (int i = 0; i < models.length; i++) {
      fixture.offline(models[i], prompts[i], 60); // computed before the server runs
    }
    try (InferenceServer server = InferenceServer.start(fixture.loadBase(), fixture.tokenizer(), "tiny-llama",
        fixture.adapterDirs(), ServerConfig.builder().port(0).maxBatch(8).build())) {
      ServeClient client = new ServeClient(server.uri());
      HttpRequest request = client.request("/v1/completions").header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(ServeClient.body("model", "a", "prompt", leaver,
              "max_tokens", 200, "temperature", 0, "stream", true).toString())).build();
      HttpResponse<InputStream> leaving = client.http().send(request, HttpResponse.BodyHandlers.ofInputStream());
      List<CompletableFuture<ServeClient.Reply>> staying = streams(client, models, prompts, 60);
      InputStream body = leaving.body();
      assertThat(body.read(new byte[64])).isPositive(); // it is streaming ...
      body.close();                                     // ... and goes away

      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (server.stats().cancelledRows.get() == 0 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertThat(server.stats().cancelledRows.get()).as("the leaver's row is dropped").isEqualTo(1);
      assertOffline(staying, models, prompts, 60);

      // and the next requests are served correctly too
      String[] next = {"after 1", "after 2", "after 3", "after 4"};
      assertOffline(streams(client, models, next, 20), models, next, 20);
    }
  }
}
