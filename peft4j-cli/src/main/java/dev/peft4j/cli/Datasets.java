package dev.peft4j.cli;

import dev.peft4j.data.CsvDataset;
import dev.peft4j.data.Dataset;
import dev.peft4j.data.DatasetFormat;
import dev.peft4j.data.JsonlDataset;
import dev.peft4j.data.ReadOptions;
import java.io.IOException;
import java.nio.file.Path;

/** Reads a dataset file named on the command line: JSONL (format given or detected) or CSV (text,label). */
final class Datasets {
  private Datasets() {}

  static Dataset read(Path file, String format, boolean skipMalformed) throws IOException {
    ReadOptions options = skipMalformed ? ReadOptions.SKIP_MALFORMED : ReadOptions.STRICT;
    if (file.getFileName().toString().endsWith(".csv")) {
      return CsvDataset.read(file, "text", "label", options);
    }
    return format.equals("auto")
        ? JsonlDataset.read(file, options)
        : JsonlDataset.read(file, DatasetFormat.named(format), options);
  }
}
