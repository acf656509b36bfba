package dev.peft4j.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Examples read from one file (or built in memory), in file order, each with the 1-based line it
 * started on so that later errors (an unknown label, an example too long) can point at it.
 * Immutable.
 */
public final class Dataset {
  private final Path source;
  private final DatasetFormat format;
  private final List<Example> examples;
  private final int[] lines;
  private final int skipped;

  Dataset(Path source, DatasetFormat format, List<Example> examples, int[] lines, int skipped) {
    if (examples.size() != lines.length) {
      throw new IllegalArgumentException("examples and lines differ in size: " + examples.size() + " vs " + lines.length);
    }
    this.source = source;
    this.format = format;
    this.examples = List.copyOf(examples);
    this.lines = lines.clone();
    this.skipped = skipped;
  }

  /**
   * A dataset of examples built in memory; errors then name the 1-based example number.
   *
   * @throws NullPointerException if {@code examples} contains null
   */
  public static Dataset of(List<? extends Example> examples) {
    List<Example> copy = new ArrayList<>(examples.size());
    for (Example e : examples) {
      copy.add(Objects.requireNonNull(e, "examples contains null"));
    }
    int[] lines = new int[copy.size()];
    Arrays.setAll(lines, i -> i + 1);
    return new Dataset(null, null, copy, lines, 0);
  }

  /** The file read; empty for {@link #of}. */
  public Optional<Path> source() {
    return Optional.ofNullable(source);
  }

  /** The format the file was read as; empty for {@link #of}. */
  public Optional<DatasetFormat> format() {
    return Optional.ofNullable(format);
  }

  /** The examples, in file order. */
  public List<Example> examples() {
    return examples;
  }

  /** Number of examples. */
  public int size() {
    return examples.size();
  }

  /** The {@code index}-th example. */
  public Example get(int index) {
    return examples.get(index);
  }

  /** The 1-based line the {@code index}-th example starts on (in memory: {@code index + 1}). */
  public int line(int index) {
    Objects.checkIndex(index, lines.length);
    return lines[index];
  }

  /** Number of malformed records skipped while reading ({@link ReadOptions#skipMalformed()}). */
  public int skipped() {
    return skipped;
  }

  /** An exception about the {@code index}-th example, naming its file and line. */
  DatasetException errorAt(int index, String problem, Throwable cause) {
    return new DatasetException(source, line(index), problem, cause);
  }

  @Override
  public String toString() {
    return "Dataset[" + (source == null ? "in memory" : source) + ", " + (format == null ? "" : format + ", ")
        + examples.size() + " examples, " + skipped + " skipped]";
  }
}
