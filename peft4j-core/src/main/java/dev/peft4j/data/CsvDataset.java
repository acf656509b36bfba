package dev.peft4j.data;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Reads a classification dataset from a CSV file (RFC 4180, UTF-8): a header row naming the
 * columns, then one example per record. Quoted fields may hold commas, line breaks and doubled
 * quotes; completely empty lines are skipped; a leading byte-order mark is allowed.
 */
public final class CsvDataset {
  private CsvDataset() {}

  /** {@link #read(Path, String, String, ReadOptions)} with {@link ReadOptions#STRICT}. */
  public static Dataset read(Path file, String textColumn, String labelColumn) throws IOException {
    return read(file, textColumn, labelColumn, ReadOptions.STRICT);
  }

  /**
   * Reads {@link ClassificationExample}s from the columns {@code textColumn} and {@code
   * labelColumn}; other columns are ignored.
   *
   * @throws DatasetException naming the file and the 1-based line a record starts on, if a record
   *     has a different number of fields than the header or an empty label (unless {@code
   *     opts.skipMalformed()}: then skipped and counted), or if the text cannot be split into
   *     records (a stray or unterminated quote); naming the file, if it is missing, not UTF-8, has
   *     no header, lacks one of the columns (the message lists the header), or has no examples
   * @throws IOException if the file cannot be read
   */
  public static Dataset read(Path file, String textColumn, String labelColumn, ReadOptions opts) throws IOException {
    Objects.requireNonNull(textColumn, "textColumn");
    Objects.requireNonNull(labelColumn, "labelColumn");
    Objects.requireNonNull(opts, "opts");
    CsvRecords records = new CsvRecords(JsonlDataset.stripBom(readText(file)));
    List<Example> examples = new ArrayList<>();
    List<Integer> lines = new ArrayList<>();
    int skipped = 0;
    try {
      CsvRecords.Row header = records.next();
      if (header == null) {
        throw new DatasetException(file, 0, "no header row (the file is empty)");
      }
      int text = column(file, header, textColumn, "text");
      int label = column(file, header, labelColumn, "label");
      for (CsvRecords.Row row = records.next(); row != null; row = records.next()) {
        String problem = null;
        if (row.fields().size() != header.fields().size()) {
          problem = row.fields().size() + " field(s) but the header has " + header.fields().size();
        } else if (row.fields().get(label).isEmpty()) {
          problem = "empty label in column \"" + labelColumn + "\"";
        }
        if (problem == null) {
          examples.add(new ClassificationExample(row.fields().get(text), row.fields().get(label)));
          lines.add(row.line());
        } else if (opts.skipMalformed()) {
          skipped++;
        } else {
          throw new DatasetException(file, row.line(), problem);
        }
      }
    } catch (CsvRecords.SyntaxException e) {
      throw new DatasetException(file, e.line, e.getMessage());
    }
    if (examples.isEmpty()) {
      throw new DatasetException(file, 0, "no examples"
          + (skipped > 0 ? " (" + skipped + " malformed record(s) skipped)" : " (only a header row)"));
    }
    return new Dataset(file, DatasetFormat.CLASSIFICATION, examples,
        lines.stream().mapToInt(Integer::intValue).toArray(), skipped);
  }

  private static int column(Path file, CsvRecords.Row header, String name, String role) throws DatasetException {
    int index = header.fields().indexOf(name);
    if (index < 0) {
      throw new DatasetException(file, header.line(),
          "no " + role + " column \"" + name + "\" in the header " + header.fields());
    }
    if (header.fields().lastIndexOf(name) != index) {
      throw new DatasetException(file, header.line(), "the header has two columns named \"" + name + "\"");
    }
    return index;
  }

  private static String readText(Path file) throws IOException {
    try {
      return Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new DatasetException(file, 0, "dataset file not found", e);
    } catch (CharacterCodingException e) {
      throw new DatasetException(file, 0, "not valid UTF-8", e);
    }
  }
}
