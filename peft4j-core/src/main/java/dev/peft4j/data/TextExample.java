package dev.peft4j.data;

import java.util.Objects;

/**
 * Plain text for language modelling: the loss covers every token.
 *
 * @param text the document
 */
public record TextExample(String text) implements Example {
  public TextExample {
    Objects.requireNonNull(text, "text");
  }
}
