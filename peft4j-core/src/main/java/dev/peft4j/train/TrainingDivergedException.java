package dev.peft4j.train;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Training stopped because a loss or the gradient norm became NaN or infinite. The step that
 * diverged made no update: parameters and optimizer state are those after the previous step,
 * and the last checkpoint (if any) is intact.
 */
public final class TrainingDivergedException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final long step;
  private final transient Path lastCheckpoint;

  TrainingDivergedException(long step, String what, Path lastCheckpoint) {
    super("training diverged at step " + step + ": " + what + "; no update was made for this step; "
        + (lastCheckpoint == null ? "no checkpoint was written"
            : "the last checkpoint is " + lastCheckpoint));
    this.step = step;
    this.lastCheckpoint = lastCheckpoint;
  }

  /** The 1-based optimizer step that diverged. */
  public long step() {
    return step;
  }

  /** The newest checkpoint written before divergence, if any. */
  public Optional<Path> lastCheckpoint() {
    return Optional.ofNullable(lastCheckpoint);
  }
}
