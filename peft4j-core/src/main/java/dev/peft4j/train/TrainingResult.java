package dev.peft4j.train;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * How a run ended.
 *
 * @param steps optimizer steps completed in total (including those before a resume)
 * @param stopReason why the loop stopped
 * @param lastLoss mean training loss of the last step of this run; NaN if it made no step
 * @param evaluations evaluations made during this run, in order
 * @param bestEvalLoss lowest evaluation loss of the whole run (including before a resume)
 * @param lastCheckpoint newest checkpoint written, if checkpointing is on
 */
public record TrainingResult(long steps, StopReason stopReason, double lastLoss,
    List<EvalResult> evaluations, OptionalDouble bestEvalLoss, Optional<Path> lastCheckpoint) {

  public TrainingResult {
    evaluations = List.copyOf(evaluations);
  }

  /** Why training stopped. */
  public enum StopReason {
    /** The configured number of optimizer steps (or epochs) was reached. */
    MAX_STEPS,
    /** The evaluation loss did not improve for {@code patience} evaluations in a row. */
    EARLY_STOPPING
  }
}
