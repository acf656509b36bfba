package dev.peft4j.data;

import dev.peft4j.text.ChatMessage;
import dev.peft4j.text.ChatPrompt;
import dev.peft4j.text.ChatTemplate;
import java.util.List;

/**
 * A conversation whose final assistant reply is learned: it is rendered with a {@link
 * ChatTemplate} and the loss covers the text from {@link ChatPrompt#completionStart()} on.
 *
 * @param messages the turns, the last one from {@code "assistant"}; at least two
 */
public record ChatExample(List<ChatMessage> messages) implements Example {
  public ChatExample {
    messages = List.copyOf(messages);
    if (messages.size() < 2) {
      throw new IllegalArgumentException(
          "a chat example needs at least one message before the assistant reply: " + messages.size() + " message(s)");
    }
    String last = messages.get(messages.size() - 1).role();
    if (!"assistant".equals(last)) {
      throw new IllegalArgumentException("the last message must be from \"assistant\": \"" + last + "\"");
    }
  }

  /**
   * Renders this conversation for training.
   *
   * @throws IllegalArgumentException if the template rejects the conversation (e.g. Llama-2's
   *     strict user/assistant alternation)
   */
  public ChatPrompt render(ChatTemplate template) {
    return template.renderForTraining(messages);
  }
}
