package dev.peft4j.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --adapter DIR}: a PEFT adapter to attach to the model before running it. */
final class AdapterOption {
  @Option(names = "--adapter", paramLabel = "DIR",
      description = "Adapter directory in Hugging Face PEFT format (adapter_config.json + adapter_model.safetensors, or adapter_model.bin).")
  Path adapter;
}
