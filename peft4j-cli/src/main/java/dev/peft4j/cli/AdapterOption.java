package dev.peft4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --adapter ADAPTER}: a PEFT adapter to attach to the model before running it. */
final class AdapterOption {
  static final String DESCRIPTION = "Adapter in Hugging Face PEFT format: a directory (adapter_config.json +"
      + " adapter_model.safetensors, or adapter_model.bin), or a Hugging Face repo id org/name[@revision],"
      + " found in the local Hugging Face cache or downloaded.";

  @Option(names = "--adapter", paramLabel = "ADAPTER", description = DESCRIPTION)
  String adapter;

  /** The adapter's directory, resolved as {@code --model} is; null without {@code --adapter}. */
  Path dir() throws IOException {
    return adapter == null ? null : CommonOptions.resolveModel(adapter);
  }
}
