package dev.peft4j.cli;

import dev.peft4j.io.hub.ModelLocator;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.tensor.DType;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options every model command takes. */
final class CommonOptions {
  static final String MODEL_DESCRIPTION = "Model directory (config.json + model.safetensors, or pytorch_model.bin; also what"
      + " train --method full saves), or a Hugging Face"
      + " repo id org/name[@revision], found in the local Hugging Face cache or downloaded.";

  @Option(names = "--model", required = true, paramLabel = "MODEL", description = MODEL_DESCRIPTION)
  String model;

  @Option(names = "--dtype", defaultValue = "f32", paramLabel = "DTYPE",
      description = "Compute dtype: f32 (default), bf16 or f16.")
  String dtype;

  @Option(names = "--copy-weights", description = "Copy the weights into memory at load instead of using them"
      + " from a copy-on-write mapping of the checkpoint (the default); for a checkpoint that may be rewritten in"
      + " place while the command runs.")
  boolean copyWeights;

  @Option(names = "--verbose", description = "Print stack traces of errors.")
  boolean verbose;

  DType computeDType() {
    return DType.parse(dtype);
  }

  /** How to load the model: {@code --dtype} and {@code --copy-weights}. */
  LoadOptions loadOptions() {
    return LoadOptions.defaults().withDType(computeDType()).withMapWeights(!copyWeights);
  }

  /** The model directory {@code --model} names. */
  Path modelDir() throws IOException {
    return resolveModel(model);
  }

  /**
   * Turns a {@code --model} argument into a directory: a local directory as given, otherwise a
   * repo id through {@link ModelLocator} (cache, then download unless {@code HF_HUB_OFFLINE}).
   */
  static Path resolveModel(String model) throws IOException {
    return ModelLocator.fromSystem().resolve(model);
  }
}
