package dev.peft4j.text;

/**
 * A conversation rendered for training: the full text and the character index at which the
 * final assistant reply starts. Everything before that index is what the model sees at inference
 * time (the rendering with the generation prompt); loss is usually masked to the rest.
 *
 * @param text the whole conversation as the template renders it
 * @param completionStart index into {@code text} where the final reply (including the template's
 *     end-of-turn marker) begins; {@code 0 <= completionStart <= text.length()}
 */
public record ChatPrompt(String text, int completionStart) {
  public ChatPrompt {
    if (completionStart < 0 || completionStart > text.length()) {
      throw new IllegalArgumentException(
          "completionStart must be in [0, " + text.length() + "]: " + completionStart);
    }
  }

  /** The part the model is conditioned on: {@code text[0, completionStart)}. */
  public String prompt() {
    return text.substring(0, completionStart);
  }

  /** The part the model learns to produce: {@code text[completionStart, end)}. */
  public String completion() {
    return text.substring(completionStart);
  }
}
