package dev.peft4j.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.generate.ByteTokenizer;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.text.ChatMessage;
import dev.peft4j.text.ChatTemplate;
import dev.peft4j.text.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Request parsing without HTTP: defaults, model names, chat templates. */
class ServeRequestParserTest {
  @TempDir Path dir;

  private RequestParser parser(Tokenizer tokenizer, int maxTokens) {
    return new RequestParser(tokenizer, new ServedAdapters(null, "tiny"), maxTokens, 256, ByteTokenizer.VOCAB);
  }

  private static byte[] json(Object... kv) {
    return ServeClient.body(kv).toString().getBytes(StandardCharsets.UTF_8);
  }

  private Tokenizer tokenizer(String chatTemplate) throws Exception {
    Path d = dir.resolve("t" + (chatTemplate == null ? "" : Integer.toHexString(chatTemplate.hashCode())));
    Files.createDirectories(d);
    if (chatTemplate != null) {
      Files.writeString(d.resolve("tokenizer_config.json"),
          ServeClient.body("chat_template", chatTemplate).toString());
    }
    return ByteTokenizer.create(d);
  }

  @Test
  void defaultsFollowOpenAi() throws Exception {
    try (Tokenizer tokenizer = tokenizer(null)) {
      RequestParser parser = parser(tokenizer, 40);
      CompletionRequest r = parser.parse(json("model", "tiny", "prompt", "abc"), false);
      assertThat(r.adapter()).isEqualTo(PeftModel.BASE);
      assertThat(r.prompt()).containsExactly('a', 'b', 'c');
      assertThat(r.maxTokens()).as("OpenAI's default for completions").isEqualTo(16);
      assertThat(r.temperature()).as("OpenAI samples by default").isEqualTo(1.0);
      assertThat(r.topP()).isEqualTo(1.0);
      assertThat(r.stream()).isFalse();
      assertThat(r.stopIds()).containsExactly((long) ByteTokenizer.EOS);
      assertThat(r.seed()).isEmpty();

      CompletionRequest chat = parser.parse(json("model", "base", "messages",
          List.of(Map.of("role", "user", "content", List.of(Map.of("type", "text", "text", "hi"))))), true);
      String rendered = ChatTemplate.CHATML.render(List.of(ChatMessage.user("hi")), true);
      assertThat(chat.prompt()).as("ChatML without a template of the model's own").containsExactly(
          ByteTokenizer.ids(rendered));
      assertThat(chat.maxTokens()).as("chat: the server limit, if it fits the context").isEqualTo(40);
      assertThat(parser(tokenizer, 300).parse(json("model", "base", "messages",
          List.of(Map.of("role", "user", "content", "hi"))), true).maxTokens())
          .as("... else what the context leaves").isEqualTo(256 - rendered.length());
      assertThat(parser.parse(json("model", "base", "max_completion_tokens", 7, "messages",
          List.of(Map.of("role", "user", "content", "hi"))), true).maxTokens()).isEqualTo(7);
      assertThatThrownBy(() -> parser.parse(json("model", "a", "prompt", "x"), false))
          .isInstanceOf(ApiException.class).hasMessageContaining("does not exist");
    }
  }

  @Test
  void theModelsOwnChatTemplateIsUsedAndAnUnknownOneIsRefused() throws Exception {
    String llama3 = "{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
        + "{{ m['content'] }}<|eot_id|>{% endfor %}";
    Object messages = List.of(Map.of("role", "user", "content", "hi"));
    try (Tokenizer tokenizer = tokenizer(llama3)) {
      CompletionRequest r = parser(tokenizer, 8).parse(json("model", "tiny", "messages", messages), true);
      String rendered = ChatTemplate.LLAMA3.render(List.of(ChatMessage.user("hi")), true);
      assertThat(r.prompt()).containsExactly(ByteTokenizer.ids(rendered));
    }
    try (Tokenizer tokenizer = tokenizer("{{ something else }}")) {
      RequestParser parser = parser(tokenizer, 8);
      assertThatThrownBy(() -> parser.parse(json("model", "tiny", "messages", messages), true))
          .isInstanceOf(ApiException.class).hasMessageContaining("chat_template is not one that peft4j renders");
      assertThat(parser.parse(json("model", "tiny", "prompt", "still fine"), false).prompt()).hasSize(10);
    }
  }
}
