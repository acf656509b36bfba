package dev.peft4j.data;

import java.util.Objects;

/**
 * A prompt and the completion the model should learn to produce after it: the loss covers only
 * the completion (and the EOS token appended to it).
 *
 * @param prompt what the model is conditioned on, used verbatim (no separator is inserted)
 * @param completion what the model learns to write after {@code prompt}
 */
public record PromptCompletion(String prompt, String completion) implements Example {
  public PromptCompletion {
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(completion, "completion");
  }
}
