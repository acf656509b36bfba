package dev.peft4j.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.generate.FinishReason;
import dev.peft4j.generate.GenerationResult;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Many concurrent streaming clients of different adapters, batched together, each get their own output. */
class ServeConcurrencyTest extends WithServeFixture {
  private static final int CLIENTS = 32;

  @Test
  @Timeout(120)
  void thirtyTwoStreamingClientsAcrossThreeAdaptersEachGetTheirOfflineGreedyOutput() throws Exception {
    String[] adapters = new String[CLIENTS];
    String[] prompts = new String[CLIENTS];
    int[] maxTokens = new int[CLIENTS];
    GenerationResult[] expected = new GenerationResult[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
      adapters[i] = ServeFixture.ADAPTERS.get(i % 3);
      prompts[i] = "Client " + i + (i % 4 == 0 ? " asks a somewhat longer question" : "") + ":";
      maxTokens[i] = 8 + (i * 7) % 25;
      expected[i] = fixture.offline(adapters[i], prompts[i], maxTokens[i]);
    }
    ServerConfig config = ServerConfig.builder().port(0).maxBatch(8).maxQueue(64).build();
    try (InferenceServer server = InferenceServer.start(fixture.loadBase(), fixture.tokenizer(), "tiny-llama",
        fixture.adapterDirs(), config)) {
      ServeClient client = new ServeClient(server.uri());
      long start = System.nanoTime();
      List<CompletableFuture<ServeClient.Reply>> replies = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) {
        replies.add(client.postAsync("/v1/completions", ServeClient.body("model", adapters[i], "prompt", prompts[i],
            "max_tokens", maxTokens[i], "temperature", 0, "stream", true).toString()));
      }
      CompletableFuture.allOf(replies.toArray(new CompletableFuture[0])).join();
      long millis = (System.nanoTime() - start) / 1_000_000;

      int tokens = 0;
      for (int i = 0; i < CLIENTS; i++) {
        ServeClient.Streamed s = ServeClient.streamed(replies.get(i).get());
        assertThat(s.text()).as("client %d (%s)", i, adapters[i]).isEqualTo(expected[i].text().orElseThrow());
        assertThat(s.finishReason()).as("client %d", i)
            .isEqualTo(expected[i].finishReason() == FinishReason.LENGTH ? "length" : "stop");
        assertThat(s.chunks()).as("streamed in pieces").isGreaterThan(1);
        tokens += expected[i].ids().length;
      }
      ServerStats stats = server.stats();
      assertThat(stats.accepted.get()).isEqualTo(CLIENTS);
      assertThat(stats.maxRows.get()).as("batches fill up to --max-batch").isEqualTo(8);
      assertThat(stats.mixedSteps.get()).as("rows of different adapters share steps").isPositive();
      assertThat(stats.joinsIntoRunningBatch.get()).as("newcomers join a running batch").isPositive();
      System.out.printf("serve: %d streaming clients, %d tokens in %d ms; %s; mean batch %.2f%n", CLIENTS, tokens,
          millis, stats, (double) stats.rowSteps.get() / stats.steps.get());
    }
  }
}
