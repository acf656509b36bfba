package dev.peft4j.train;

import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;

/** One pass over an evaluation source (epoch 0), with gradients off and a scope per batch. */
public final class Evaluation {
  private Evaluation() {}

  /** Scores every batch of {@code source}'s epoch 0 and sums the statistics. */
  public static <B> EvalResult run(TrainingObjective<B> objective, BatchSource<B> source, long step) {
    EvalStats total = EvalStats.empty();
    for (int i = 0; i < source.batchesPerEpoch(); i++) {
      try (Scope scope = Scope.open(); Engine.GradGuard noGrad = Engine.noGrad()) {
        total = total.plus(objective.evaluate(source.batch(0, i)));
      }
    }
    return EvalResult.of(step, total);
  }
}
