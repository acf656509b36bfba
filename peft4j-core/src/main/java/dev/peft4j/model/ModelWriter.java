package dev.peft4j.model;

import dev.peft4j.io.SafeTensorsWriter;
import dev.peft4j.io.TensorData;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.TreeMap;

/** Saves a model as a standard Hugging Face checkpoint: {@code config.json} + {@code model.safetensors}. */
public final class ModelWriter {
  private ModelWriter() {}

  /**
   * Writes every parameter under its Hugging Face name, in its current dtype.
   *
   * @throws IllegalStateException if the model was not loaded from a config (nothing to write
   *     as config.json)
   */
  public static void save(PretrainedModel model, Path dir) throws IOException {
    if (model.savedConfig() == null) {
      throw new IllegalStateException(model.architecture() + " has no config.json to save (it was not loaded by AutoModel)");
    }
    Files.createDirectories(dir);
    Map<String, TensorData> tensors = new TreeMap<>();
    try (Scope scope = Scope.open()) {
      model.namedParameters().forEach((name, p) -> {
        Tensor t = p.value();
        tensors.put(name, new TensorData(t.dtype(), t.shape(), t.toBytes()));
      });
    }
    SafeTensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
    Path tmp = Files.createTempFile(dir, "config.json", ".tmp");
    Files.writeString(tmp, model.savedConfig().toJson(), StandardCharsets.UTF_8);
    Files.move(tmp, dir.resolve("config.json"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
