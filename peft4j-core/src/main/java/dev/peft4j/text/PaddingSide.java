package dev.peft4j.text;

/**
 * Which end of a row padding goes to. Decoder-only models generating from a batch want
 * {@link #LEFT}, so that every row's last real token is in the last column; training and
 * encoders usually use {@link #RIGHT}.
 */
public enum PaddingSide {
  LEFT,
  RIGHT;

  /**
   * Parses the {@code padding_side} value of a {@code tokenizer_config.json}.
   *
   * @throws IllegalArgumentException if {@code value} is neither {@code "left"} nor {@code "right"}
   */
  public static PaddingSide parse(String value) {
    if ("left".equals(value)) {
      return LEFT;
    }
    if ("right".equals(value)) {
      return RIGHT;
    }
    throw new IllegalArgumentException("padding_side must be \"left\" or \"right\": \"" + value + "\"");
  }
}
