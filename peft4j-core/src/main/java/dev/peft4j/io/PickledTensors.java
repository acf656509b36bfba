package dev.peft4j.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Tensors of a file written by {@code torch.save(state_dict)}, such as the {@code adapter_model.bin}
 * of adapters saved by PEFT with {@code safe_serialization=False} (and by PEFT before 0.6), as
 * buffers mapped from the file ({@link TorchSaveFile} reads it; no code in it runs).
 */
public final class PickledTensors {
  private PickledTensors() {}

  /**
   * @throws ModelFormatException naming the file and what is wrong with it
   */
  public static Map<String, TensorData> read(Path file) throws IOException {
    Map<String, TensorData> tensors = new LinkedHashMap<>();
    try (TorchSaveFile saved = TorchSaveFile.open(file)) {
      for (TensorInfo info : saved.tensors()) {
        tensors.put(info.name(), saved.read(info.name()));
      }
    }
    return tensors;
  }
}
