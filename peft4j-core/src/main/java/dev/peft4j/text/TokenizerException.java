package dev.peft4j.text;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A tokenizer file could not be read: it is missing, is not JSON, or is not a Hugging Face
 * tokenizer. The message always names the file.
 */
public class TokenizerException extends IOException {
  private static final long serialVersionUID = 1L;

  private final Path file;

  public TokenizerException(Path file, String message) {
    super(message + ": " + file);
    this.file = file;
  }

  public TokenizerException(Path file, String message, Throwable cause) {
    super(message + ": " + file + (cause.getMessage() == null ? "" : " (" + cause.getMessage() + ")"), cause);
    this.file = file;
  }

  /** The file (or directory) that could not be used. */
  public Path file() {
    return file;
  }
}
