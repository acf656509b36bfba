package dev.peft4j.data;

import java.util.Objects;

/**
 * A text and its class label, mapped to a class id by a {@link LabelSet}.
 *
 * @param text the text to classify
 * @param label the class name; integer labels in the data are kept as their decimal text
 */
public record ClassificationExample(String text, String label) implements Example {
  public ClassificationExample {
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(label, "label");
    if (label.isEmpty()) {
      throw new IllegalArgumentException("label must not be empty");
    }
  }
}
