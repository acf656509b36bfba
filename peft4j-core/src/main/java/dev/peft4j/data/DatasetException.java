package dev.peft4j.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A dataset could not be read or encoded. The message names the file and, when the problem is
 * in one record, its 1-based line number ({@code "data.jsonl, line 3: ..."}); for a dataset built
 * in memory it names the 1-based example number instead.
 */
public class DatasetException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final int line;

  /**
   * @param file the dataset file, or {@code null} for a dataset built in memory
   * @param line the 1-based line (in memory: example number) of the bad record, or 0 if the
   *     problem is not in one record
   * @param problem what is wrong
   */
  public DatasetException(Path file, int line, String problem) {
    super(where(file, line) + ": " + problem);
    this.file = file;
    this.line = line;
  }

  /** Like {@link #DatasetException(Path, int, String)}, with the underlying cause. */
  public DatasetException(Path file, int line, String problem, Throwable cause) {
    super(where(file, line) + ": " + problem, cause);
    this.file = file;
    this.line = line;
  }

  /** The dataset file; empty for a dataset built in memory. */
  public Optional<Path> file() {
    return Optional.ofNullable(file);
  }

  /** The 1-based line (or example number) of the bad record; empty if not about one record. */
  public OptionalInt line() {
    return line > 0 ? OptionalInt.of(line) : OptionalInt.empty();
  }

  static String where(Path file, int line) {
    if (file == null) {
      return line > 0 ? "example " + line : "dataset";
    }
    return line > 0 ? file + ", line " + line : file.toString();
  }
}
