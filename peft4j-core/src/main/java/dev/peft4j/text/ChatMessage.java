package dev.peft4j.text;

import java.util.Objects;

/**
 * One turn of a conversation, as in the {@code messages} list given to a chat template.
 *
 * @param role who speaks: usually {@code "system"}, {@code "user"} or {@code "assistant"}
 * @param content the text of the turn, used verbatim (templates may strip surrounding whitespace)
 */
public record ChatMessage(String role, String content) {
  public ChatMessage {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(content, "content");
  }

  /** A {@code system} message. */
  public static ChatMessage system(String content) {
    return new ChatMessage("system", content);
  }

  /** A {@code user} message. */
  public static ChatMessage user(String content) {
    return new ChatMessage("user", content);
  }

  /** An {@code assistant} message. */
  public static ChatMessage assistant(String content) {
    return new ChatMessage("assistant", content);
  }
}
