package dev.peft4j.io;

import java.io.IOException;

/**
 * A model directory whose files do not describe a model peft4j can build: a missing or
 * malformed {@code config.json}, an unknown {@code model_type}, a weight that is missing,
 * unexpected, or of the wrong shape. The message names the file and the field or tensor.
 */
public class ModelFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  public ModelFormatException(String message) {
    super(message);
  }

  public ModelFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
