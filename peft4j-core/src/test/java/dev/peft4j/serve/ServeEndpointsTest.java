package dev.peft4j.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.peft4j.generate.ByteTokenizer;
import dev.peft4j.generate.GenerationConfig;
import dev.peft4j.generate.GenerationResult;
import dev.peft4j.text.ChatMessage;
import dev.peft4j.text.ChatTemplate;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The shapes of OpenAI's responses, chat, models, model names, token-id prompts, stop strings and seeds. */
@Timeout(60)
class ServeEndpointsTest extends WithServeFixture {
  static InferenceServer server;
  static ServeClient client;

  @BeforeAll
  static void start() throws Exception {
    server = InferenceServer.start(fixture.loadBase(), fixture.tokenizer(), "tiny-llama", fixture.adapterDirs(),
        ServerConfig.builder().port(0).build());
    client = new ServeClient(server.uri());
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static JsonNode ok(ServeClient.Reply reply) {
    assertThat(reply.status()).as(reply.body()).isEqualTo(200);
    return reply.json();
  }

  @Test
  void aCompletionHasOpenAisShape() throws Exception {
    String prompt = "The answer is";
    GenerationResult expected = fixture.offline("a", prompt, 20);
    long now = System.currentTimeMillis() / 1000;
    JsonNode r = ok(client.post("/v1/completions", ServeClient.body("model", "a", "prompt", prompt, "max_tokens", 20,
        "temperature", 0)));
    assertThat(r.get("id").asText()).startsWith("cmpl-");
    assertThat(r.get("object").asText()).isEqualTo("text_completion");
    assertThat(r.get("created").asLong()).isBetween(now - 5, now + 5);
    assertThat(r.get("model").asText()).isEqualTo("a");
    assertThat(r.get("choices")).hasSize(1);
    JsonNode choice = r.get("choices").get(0);
    assertThat(choice.get("index").asInt()).isZero();
    assertThat(choice.get("text").asText()).isEqualTo(expected.text().orElseThrow());
    assertThat(choice.get("logprobs").isNull()).isTrue();
    assertThat(choice.get("finish_reason").asText()).isIn("stop", "length");
    JsonNode usage = r.get("usage");
    assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(prompt.length());
    assertThat(usage.get("completion_tokens").asInt()).isEqualTo(expected.ids().length);
    assertThat(usage.get("total_tokens").asInt()).isEqualTo(prompt.length() + expected.ids().length);

    // the same prompt as token ids, and as a one-string array
    JsonNode ids = ok(client.post("/v1/completions", ServeClient.body("model", "a", "prompt",
        ByteTokenizer.ids(prompt), "max_tokens", 20, "temperature", 0)));
    assertThat(ids.get("choices").get(0).get("text").asText()).isEqualTo(expected.text().orElseThrow());
    JsonNode array = ok(client.post("/v1/completions", ServeClient.body("model", "a", "prompt", List.of(prompt),
        "max_tokens", 20, "temperature", 0)));
    assertThat(array.get("choices").get(0).get("text").asText()).isEqualTo(expected.text().orElseThrow());
  }

  @Test
  void theBaseModelsNameAndBaseMeanNoAdapter() throws Exception {
    String prompt = "Plain model";
    String expected = fixture.offline(null, prompt, 16).text().orElseThrow();
    assertThat(expected).isNotEqualTo(fixture.offline("a", prompt, 16).text().orElseThrow());
    for (String model : new String[] {"tiny-llama", "base"}) {
      JsonNode r = ok(client.post("/v1/completions", ServeClient.body("model", model, "prompt", prompt,
          "max_tokens", 16, "temperature", 0)));
      assertThat(r.get("model").asText()).isEqualTo(model);
      assertThat(r.get("choices").get(0).get("text").asText()).isEqualTo(expected);
    }
  }

  @Test
  void chatCompletionsRenderTheConversationAndAnswerAsTheAssistant() throws Exception {
    List<Map<String, String>> messages = List.of(Map.of("role", "system", "content", "Be brief."),
        Map.of("role", "user", "content", "Hi there"));
    String rendered = ChatTemplate.CHATML.render(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi there")),
        true);
    GenerationResult expected = fixture.offline("b", ByteTokenizer.ids(rendered), 24);

    JsonNode r = ok(client.post("/v1/chat/completions", ServeClient.body("model", "b", "messages", messages,
        "max_tokens", 24, "temperature", 0)));
    assertThat(r.get("id").asText()).startsWith("chatcmpl-");
    assertThat(r.get("object").asText()).isEqualTo("chat.completion");
    JsonNode choice = r.get("choices").get(0);
    assertThat(choice.get("message").get("role").asText()).isEqualTo("assistant");
    assertThat(choice.get("message").get("content").asText()).isEqualTo(expected.text().orElseThrow());
    assertThat(r.get("usage").get("prompt_tokens").asInt()).isEqualTo(rendered.length());

    ServeClient.Reply stream = client.post("/v1/chat/completions", ServeClient.body("model", "b", "messages", messages,
        "max_tokens", 24, "temperature", 0, "stream", true, "stream_options", Map.of("include_usage", true)));
    assertThat(stream.headers().get("content-type")).containsExactly("text/event-stream; charset=utf-8");
    List<String> events = stream.events();
    JsonNode opening = ServeClient.JSON.readTree(events.get(0));
    assertThat(opening.get("object").asText()).isEqualTo("chat.completion.chunk");
    assertThat(opening.get("choices").get(0).get("delta").get("role").asText()).isEqualTo("assistant");
    JsonNode usage = ServeClient.JSON.readTree(events.get(events.size() - 2));
    assertThat(usage.get("choices")).isEmpty();
    assertThat(usage.get("usage").get("completion_tokens").asInt()).isEqualTo(expected.ids().length);
    ServeClient.Streamed streamed = ServeClient.streamed(stream);
    assertThat(streamed.text()).isEqualTo(expected.text().orElseThrow());
    assertThat(streamed.finishReason()).isIn("stop", "length");
  }

  @Test
  void modelsAreListedAndFoundById() throws Exception {
    JsonNode list = ok(client.get("/v1/models"));
    assertThat(list.get("object").asText()).isEqualTo("list");
    assertThat(list.get("data")).extracting(m -> m.get("id").asText()).containsExactly("tiny-llama", "a", "b", "c", "prefix", "prompt");
    assertThat(list.get("data").get(0).has("parent")).isFalse();
    assertThat(list.get("data").get(1).get("parent").asText()).isEqualTo("tiny-llama");
    assertThat(list.get("data").get(1).get("object").asText()).isEqualTo("model");
    assertThat(ok(client.get("/v1/models/b")).get("id").asText()).isEqualTo("b");
    assertThat(client.get("/v1/models/nope").status()).isEqualTo(404);
  }

  @Test
  void stopStringsCutTheTextAsOfflineGenerationDoes() throws Exception {
    String prompt = "Stop me";
    String full = fixture.offline("c", prompt, 30).text().orElseThrow();
    String stop = full.substring(5, 7);
    GenerationResult expected = fixture.offline("c", ByteTokenizer.ids(prompt),
        GenerationConfig.builder().maxNewTokens(30).stopStrings(List.of(stop)).build());
    assertThat(expected.finishReason()).isEqualTo(dev.peft4j.generate.FinishReason.STOP_STRING);
    for (boolean stream : new boolean[] {false, true}) {
      ServeClient.Reply reply = client.post("/v1/completions", ServeClient.body("model", "c", "prompt", prompt,
          "max_tokens", 30, "temperature", 0, "stop", stop, "stream", stream));
      String text = stream ? ServeClient.streamed(reply).text() : ok(reply).get("choices").get(0).get("text").asText();
      assertThat(text).as("stream " + stream).isEqualTo(expected.text().orElseThrow()).doesNotContain(stop);
    }
  }

  @Test
  void aSeedMakesSamplingReproducible() throws Exception {
    Object body = ServeClient.body("model", "a", "prompt", "Random", "max_tokens", 24, "temperature", 1.0,
        "top_p", 0.9, "seed", 7);
    String first = ok(client.post("/v1/completions", body)).get("choices").get(0).get("text").asText();
    String again = ok(client.post("/v1/completions", body)).get("choices").get(0).get("text").asText();
    assertThat(again).isEqualTo(first);
    java.util.Set<String> others = new java.util.HashSet<>();
    for (int seed = 8; seed < 12; seed++) {
      others.add(ok(client.post("/v1/completions", ServeClient.body("model", "a", "prompt", "Random", "max_tokens", 24,
          "temperature", 1.0, "seed", seed))).get("choices").get(0).get("text").asText());
    }
    assertThat(others).as("different seeds sample differently").hasSizeGreaterThan(1);
  }
}
