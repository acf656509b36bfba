package dev.peft4j.train;

import java.nio.file.Path;

/**
 * Receives training progress. Methods run on the training thread between steps; an exception
 * thrown here stops training and propagates out of {@link Trainer#train()} (checkpoints
 * already written stay valid).
 */
public interface TrainingListener {

  /** After every optimizer step. */
  default void onStep(StepMetrics metrics) {}

  /** Every {@code logEvery} steps, with the loss averaged since the previous call. */
  default void onLog(StepMetrics metrics) {}

  /** After each evaluation. */
  default void onEval(EvalResult result) {}

  /** After a checkpoint has been completely written to {@code directory}. */
  default void onCheckpoint(long step, Path directory) {}
}
