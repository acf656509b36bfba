package dev.peft4j.train;

import dev.peft4j.data.Batch;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.Map;

/** Fixtures shared by the tests that compare losses and gradients of training objectives. */
final class TrainTesting {
  private TrainTesting() {}

  /** Two rows of 8 tokens, the second right-padded by 2; the first token of each row unscored. */
  static Batch lmBatch() {
    long[] ids = {5, 9, 14, 3, 27, 8, 31, 12, 7, 22, 40, 2, 19, 6, 0, 0};
    long[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    long[] labels = ids.clone();
    labels[0] = -100;
    labels[8] = -100;
    labels[14] = -100;
    labels[15] = -100;
    return new Batch(Tensor.ofLongs(ids, 2, 8), Tensor.ofLongs(mask, 2, 8), Tensor.ofLongs(labels, 2, 8), 14);
  }

  /** Moves every parameter off its initialisation (LoRA's B = 0 would zero A's gradient). */
  static void perturb(Map<String, Parameter> parameters) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      for (Parameter p : parameters.values()) {
        p.value().add_(Tensor.randn(p.value().dtype(), p.shape()), 0.1);
      }
    }
  }

  /** Each trainable parameter's gradient, by name, into {@code out}; the gradients are then dropped. */
  static void takeGradients(Map<String, Parameter> parameters, Map<String, float[]> out) {
    parameters.forEach((name, p) -> {
      if (p.trainable() && p.value().grad() != null) {
        out.put(name, p.value().grad().toFloatArray());
        p.value().clearGrad();
      }
    });
  }
}
