package dev.peft4j.train;

import dev.peft4j.io.SafeTensorsWriter;
import dev.peft4j.io.TensorData;
import dev.peft4j.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checkpoint directories {@code outputDir/checkpoint-STEP}, written atomically and pruned to
 * the newest {@code keepLast}.
 *
 * <p>A checkpoint is written into {@code checkpoint-STEP.tmp-RANDOM}, each file forced to disk,
 * {@value #STATE_FILE} last, and then renamed with {@code ATOMIC_MOVE}. Readers only consider
 * directories named exactly {@code checkpoint-STEP} whose files are all present and whose
 * trainer state parses and names the same step; a crash at any point therefore leaves either
 * the previous set of checkpoints or the new one, never a half-written checkpoint taken for a
 * complete one. Leftover temporary directories are deleted when the next checkpoint is pruned.
 */
public final class CheckpointStore {
  /** Trainable parameter values by name (safetensors). */
  public static final String PARAMETERS_FILE = "parameters.safetensors";
  /** Optimizer state (safetensors), see {@link AdamW#stateDict()}. */
  public static final String OPTIMIZER_FILE = "optimizer.safetensors";
  /** {@link TrainerState} as JSON. */
  public static final String STATE_FILE = "trainer_state.json";

  private static final Pattern COMPLETE = Pattern.compile("checkpoint-(\\d+)");
  private static final Pattern TEMPORARY = Pattern.compile("checkpoint-\\d+\\.(tmp|old)-.*");

  private final Path outputDir;
  private final int keepLast;

  /**
   * A store in {@code outputDir} (created when the first checkpoint is saved) keeping the
   * newest {@code keepLast} checkpoints.
   */
  public CheckpointStore(Path outputDir, int keepLast) {
    if (keepLast < 1) {
      throw new IllegalArgumentException("keepLast must be at least 1: " + keepLast);
    }
    this.outputDir = outputDir;
    this.keepLast = keepLast;
  }

  /** The directory a checkpoint of {@code step} has when complete. */
  public static Path directoryOf(Path outputDir, long step) {
    return outputDir.resolve("checkpoint-" + step);
  }

  /**
   * Writes a checkpoint of {@code state.step()} atomically (replacing one of the same step),
   * then deletes all but the newest {@code keepLast} and any leftover temporary directories.
   *
   * @param parameters trainable parameter values by name
   * @param optimizerState {@link AdamW#stateDict()}
   * @return the checkpoint directory
   */
  public Path save(TrainerState state, Map<String, Tensor> parameters, Map<String, Tensor> optimizerState)
      throws IOException {
    Files.createDirectories(outputDir);
    Path target = directoryOf(outputDir, state.step());
    Path temp = outputDir.resolve(target.getFileName() + ".tmp-" + randomSuffix());
    try {
      Files.createDirectory(temp);
      SafeTensorsWriter.write(temp.resolve(PARAMETERS_FILE), toData(parameters));
      SafeTensorsWriter.write(temp.resolve(OPTIMIZER_FILE), toData(optimizerState));
      writeForced(temp.resolve(STATE_FILE), state.toJson());
      if (Files.exists(target)) { // only when re-saving a step: move the old one aside first
        Path old = outputDir.resolve(target.getFileName() + ".old-" + randomSuffix());
        Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        deleteRecursively(old);
      } else {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      }
    } catch (IOException | RuntimeException | Error e) {
      try {
        deleteRecursively(temp);
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    prune();
    return target;
  }

  /** Complete checkpoints in {@code outputDir}, oldest first; empty if it does not exist. */
  public static List<Checkpoint> list(Path outputDir) throws IOException {
    List<Checkpoint> out = new ArrayList<>();
    if (!Files.isDirectory(outputDir)) {
      return out;
    }
    try (Stream<Path> children = Files.list(outputDir)) {
      for (Path dir : (Iterable<Path>) children::iterator) {
        Matcher m = COMPLETE.matcher(dir.getFileName().toString());
        if (!m.matches() || !Files.isDirectory(dir)) {
          continue;
        }
        try {
          Checkpoint c = Checkpoint.read(dir);
          if (Long.toString(c.state().step()).equals(m.group(1))) {
            out.add(c);
          }
        } catch (IOException notComplete) {
          // a directory that is not a complete checkpoint is never taken for one
        }
      }
    }
    out.sort(Comparator.comparingLong(c -> c.state().step()));
    return out;
  }

  /** The complete checkpoint with the highest step in {@code outputDir}, if any. */
  public static Optional<Checkpoint> latest(Path outputDir) throws IOException {
    List<Checkpoint> all = list(outputDir);
    return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
  }

  private void prune() throws IOException {
    List<Checkpoint> all = list(outputDir);
    for (int i = 0; i < all.size() - keepLast; i++) {
      deleteRecursively(all.get(i).directory());
    }
    try (Stream<Path> children = Files.list(outputDir)) {
      for (Path dir : (Iterable<Path>) children::iterator) {
        if (TEMPORARY.matcher(dir.getFileName().toString()).matches()) {
          deleteRecursively(dir);
        }
      }
    }
  }

  private static Map<String, TensorData> toData(Map<String, Tensor> tensors) {
    Map<String, TensorData> out = new LinkedHashMap<>();
    tensors.forEach((name, t) -> out.put(name, new TensorData(t.dtype(), t.shape(), t.toBytes())));
    return out;
  }

  private static void writeForced(Path file, byte[] bytes) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      channel.force(true);
    }
  }

  private static String randomSuffix() {
    return Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
  }

  static void deleteRecursively(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      List<Path> paths = walk.sorted(Comparator.reverseOrder()).toList();
      for (Path p : paths) {
        Files.deleteIfExists(p);
      }
    }
  }
}
