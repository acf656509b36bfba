package dev.peft4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Reads JSON Lines datasets: one JSON object per line, UTF-8, in one of the {@link
 * DatasetFormat}s. Blank lines are ignored; a leading byte-order mark is allowed.
 */
public final class JsonlDataset {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private JsonlDataset() {}

  /**
   * Reads every line of {@code file} as {@code format}.
   *
   * @throws DatasetException naming the file and the 1-based line number, if a line is not JSON,
   *     not an object, or lacks a field of {@code format} or has it with the wrong type (unless
   *     {@code opts.skipMalformed()}: such lines are then skipped and counted); naming the file,
   *     if it is missing, not UTF-8, or has no examples
   * @throws IOException if the file cannot be read
   */
  public static Dataset read(Path file, DatasetFormat format, ReadOptions opts) throws IOException {
    Objects.requireNonNull(format, "format");
    Objects.requireNonNull(opts, "opts");
    List<Example> examples = new ArrayList<>();
    List<Integer> lines = new ArrayList<>();
    int[] skipped = {0};
    forEachLine(file, (lineNo, line) -> {
      try {
        examples.add(JsonExamples.parse(parse(line), format));
        lines.add(lineNo);
      } catch (MalformedRecordException e) {
        if (!opts.skipMalformed()) {
          throw new DatasetException(file, lineNo, e.getMessage() + " (format " + format + ")");
        }
        skipped[0]++;
      }
      return true;
    });
    if (examples.isEmpty()) {
      throw new DatasetException(file, 0, "no examples"
          + (skipped[0] > 0 ? " (" + skipped[0] + " malformed line(s) skipped)" : " (the file is empty or blank)"));
    }
    return new Dataset(file, format, examples, lines.stream().mapToInt(Integer::intValue).toArray(), skipped[0]);
  }

  /**
   * Reads {@code file} in the format {@link #detectFormat detected} from its first non-blank
   * line.
   *
   * @throws DatasetException as {@link #read(Path, DatasetFormat, ReadOptions)}, or if the format
   *     cannot be detected
   */
  public static Dataset read(Path file, ReadOptions opts) throws IOException {
    return read(file, detectFormat(file), opts);
  }

  /**
   * Detects the format of {@code file} from the keys of its first non-blank line, with {@link
   * DatasetFormat#detect}.
   *
   * @throws DatasetException naming the file and line, if that line is not a JSON object or
   *     matches no format; naming the file if it has no non-blank line
   */
  public static DatasetFormat detectFormat(Path file) throws IOException {
    DatasetFormat[] detected = {null};
    forEachLine(file, (lineNo, line) -> {
      try {
        detected[0] = DatasetFormat.detect(parse(line));
        return false;
      } catch (MalformedRecordException | IllegalArgumentException e) {
        throw new DatasetException(file, lineNo, e.getMessage());
      }
    });
    if (detected[0] == null) {
      throw new DatasetException(file, 0, "no examples (the file is empty or blank)");
    }
    return detected[0];
  }

  /** Receives a non-blank line and its 1-based number; returns whether to go on. */
  @FunctionalInterface
  private interface LineVisitor {
    boolean visit(int lineNo, String line) throws DatasetException;
  }

  /** Feeds the non-blank lines of {@code file} (a leading BOM removed) to {@code visitor}. */
  private static void forEachLine(Path file, LineVisitor visitor) throws IOException {
    int lineNo = 0;
    try (BufferedReader in = open(file)) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        lineNo++;
        if (lineNo == 1) {
          line = stripBom(line);
        }
        if (!line.isBlank() && !visitor.visit(lineNo, line)) {
          return;
        }
      }
    } catch (CharacterCodingException e) {
      throw new DatasetException(file, lineNo + 1, "not valid UTF-8", e);
    }
  }

  private static BufferedReader open(Path file) throws IOException {
    try {
      return Files.newBufferedReader(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new DatasetException(file, 0, "dataset file not found", e);
    }
  }

  private static JsonNode parse(String line) throws MalformedRecordException {
    try {
      return JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw new MalformedRecordException("not valid JSON: " + e.getOriginalMessage());
    }
  }

  static String stripBom(String line) {
    return line.startsWith("\uFEFF") ? line.substring(1) : line;
  }
}
