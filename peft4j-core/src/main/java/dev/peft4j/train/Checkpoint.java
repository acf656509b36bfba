package dev.peft4j.train;

import dev.peft4j.io.SafeTensorsFile;
import dev.peft4j.io.TensorData;
import dev.peft4j.io.TensorInfo;
import dev.peft4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A complete checkpoint directory {@code checkpoint-STEP} written by {@link CheckpointStore}:
 * {@value CheckpointStore#PARAMETERS_FILE} (trainable parameter values by name),
 * {@value CheckpointStore#OPTIMIZER_FILE} ({@link AdamW#stateDict()}) and
 * {@value CheckpointStore#STATE_FILE} ({@link TrainerState}).
 *
 * @param directory the checkpoint directory
 * @param state its trainer state
 */
public record Checkpoint(Path directory, TrainerState state) {

  /**
   * Reads the checkpoint in {@code directory}.
   *
   * @throws IOException if a file is missing or the trainer state is invalid
   */
  public static Checkpoint read(Path directory) throws IOException {
    for (String file : new String[] {CheckpointStore.PARAMETERS_FILE, CheckpointStore.OPTIMIZER_FILE}) {
      if (!Files.isRegularFile(directory.resolve(file))) {
        throw new IOException(directory + ": incomplete checkpoint, " + file + " is missing");
      }
    }
    TrainerState state = TrainerState.fromJson(Files.readAllBytes(directory.resolve(CheckpointStore.STATE_FILE)));
    return new Checkpoint(directory, state);
  }

  /** The trainable parameter values, as tensors in the caller's scope. */
  public Map<String, Tensor> parameters() throws IOException {
    return readTensors(directory.resolve(CheckpointStore.PARAMETERS_FILE));
  }

  /** The optimizer state, as tensors in the caller's scope. */
  public Map<String, Tensor> optimizerState() throws IOException {
    return readTensors(directory.resolve(CheckpointStore.OPTIMIZER_FILE));
  }

  private static Map<String, Tensor> readTensors(Path file) throws IOException {
    Map<String, Tensor> out = new LinkedHashMap<>();
    try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
      for (TensorInfo info : f.tensors()) {
        TensorData data = f.read(info.name());
        out.put(info.name(), Tensor.fromBytes(data.data(), data.dtype(), data.shape()));
      }
    }
    return out;
  }
}
