package dev.peft4j.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's memory mappings of a file, read from Linux's {@code /proc/self/maps} (one line
 * per mapping, ending with the file's path, plus {@code " (deleted)"} once it is unlinked).
 */
public final class FileMappings {
  private static final Path MAPS = Path.of("/proc/self/maps");

  private FileMappings() {}

  /** How many mappings of {@code file} the process holds now. */
  public static long count(Path file) {
    String name = file.toAbsolutePath().toString();
    try {
      return Files.readAllLines(MAPS).stream()
          .filter(line -> line.endsWith(" " + name) || line.endsWith(" " + name + " (deleted)"))
          .count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Runs the garbage collector until unreachable Java buffers are collected (their mappings go
   * with them) and returns {@link #count}.
   */
  public static long countAfterGc(Path file) {
    long n = count(file);
    for (int i = 0; i < 5; i++) {
      System.gc();
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      n = count(file);
    }
    return n;
  }
}
