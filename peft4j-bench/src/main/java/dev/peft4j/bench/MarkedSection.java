package dev.peft4j.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A generated section of a Markdown file, between {@code <!-- NAME:begin -->} and
 * {@code <!-- NAME:end -->} lines. Replacing it leaves every byte outside the markers as it was.
 */
public final class MarkedSection {
  private MarkedSection() {}

  public static String begin(String name) {
    return "<!-- " + name + ":begin -->";
  }

  public static String end(String name) {
    return "<!-- " + name + ":end -->";
  }

  /**
   * {@code text} with the lines between the markers replaced by {@code content} (which ends in a
   * newline, or gets one).
   *
   * @throws IllegalArgumentException naming the marker, if a marker is missing or appears twice,
   *     or the end comes before the begin
   */
  public static String replace(String text, String name, String content) {
    String begin = begin(name);
    String end = end(name);
    int b = once(text, begin, name);
    int e = once(text, end, name);
    if (e < b) {
      throw new IllegalArgumentException("'" + end + "' comes before '" + begin + "'");
    }
    int afterBegin = text.indexOf('\n', b);
    if (afterBegin < 0 || afterBegin > e) {
      throw new IllegalArgumentException("'" + begin + "' must end its line, with '" + end + "' on a later line");
    }
    int endLine = text.lastIndexOf('\n', e) + 1;
    return text.substring(0, afterBegin + 1) + content + (content.endsWith("\n") ? "" : "\n") + text.substring(endLine);
  }

  /** {@link #replace(String, String, String)} on a UTF-8 file, written through a temporary file. */
  public static void replace(Path file, String name, String content) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    String updated;
    try {
      updated = replace(text, name, content);
    } catch (IllegalArgumentException ex) {
      throw new IllegalArgumentException(file + ": " + ex.getMessage(), ex);
    }
    Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".tmp");
    Files.writeString(tmp, updated, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static int once(String text, String marker, String name) {
    int i = text.indexOf(marker);
    if (i < 0) {
      throw new IllegalArgumentException("no '" + marker + "' marker; put '" + begin(name) + "' and '" + end(name)
          + "' on lines of their own where the section goes");
    }
    if (text.indexOf(marker, i + 1) >= 0) {
      throw new IllegalArgumentException("'" + marker + "' appears more than once");
    }
    return i;
  }
}
