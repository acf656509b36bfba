package dev.peft4j.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * A safetensors file, or a sharded checkpoint's index, is malformed, inconsistent or hostile.
 *
 * <p>The message always starts with the file and, when the problem concerns one tensor, names
 * that tensor: {@code /m/model.safetensors: tensor 'lm_head.weight': unsupported dtype 'F8_E4M3'}.
 */
public class SafeTensorsFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final String tensor;

  /**
   * @param file the file that is malformed (a {@code .safetensors} file or an index)
   * @param tensor the tensor the problem concerns, or {@code null} if it concerns the file
   * @param detail what is wrong, without the file and tensor (they are prefixed)
   */
  public SafeTensorsFormatException(Path file, String tensor, String detail) {
    this(file, tensor, detail, null);
  }

  /** As {@link #SafeTensorsFormatException(Path, String, String)}, with a cause. */
  public SafeTensorsFormatException(Path file, String tensor, String detail, Throwable cause) {
    super(format(file, tensor, detail), cause);
    this.file = Objects.requireNonNull(file, "file");
    this.tensor = tensor;
  }

  /** The malformed file. */
  public Path file() {
    return file;
  }

  /** The tensor the problem concerns, if any. */
  public Optional<String> tensor() {
    return Optional.ofNullable(tensor);
  }

  private static String format(Path file, String tensor, String detail) {
    StringBuilder sb = new StringBuilder().append(file);
    if (tensor != null) {
      sb.append(": tensor '").append(tensor).append('\'');
    }
    return sb.append(": ").append(detail).toString();
  }
}
