package dev.peft4j.cli;

import dev.peft4j.tensor.DType;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options every model command takes. */
final class CommonOptions {
  @Option(names = "--model", required = true, paramLabel = "DIR",
      description = "Hugging Face model directory (config.json + model.safetensors).")
  Path model;

  @Option(names = "--dtype", defaultValue = "f32", paramLabel = "DTYPE",
      description = "Compute dtype: f32 (default), bf16 or f16.")
  String dtype;

  @Option(names = "--verbose", description = "Print stack traces of errors.")
  boolean verbose;

  DType computeDType() {
    return DType.parse(dtype);
  }
}
