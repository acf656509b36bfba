package dev.peft4j.train;

import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Global-norm gradient clipping, as {@code torch.nn.utils.clip_grad_norm_} with the 2-norm:
 * {@code total = sqrt(Σ‖g‖²)} over all gradients, and if {@code max / (total + 1e-6) < 1}
 * every gradient is multiplied by that factor.
 */
public final class GradientClipping {
  private GradientClipping() {}

  /**
   * The 2-norm of all gradients of {@code parameters} taken together; tensors without a
   * gradient are skipped, and none at all gives 0. NaN or infinite if a gradient is.
   */
  public static double globalNorm(Iterable<Tensor> parameters) {
    try (Scope scope = Scope.open()) {
      return norm(gradients(parameters));
    }
  }

  /**
   * Scales the gradients of {@code parameters} in place so that their global 2-norm is at most
   * about {@code maxNorm}, and returns the norm before clipping. Non-finite norms leave the
   * gradients unchanged (the caller decides; see {@link TrainingDivergedException}).
   *
   * @throws IllegalArgumentException if {@code maxNorm} is not positive
   */
  public static double clipGradNorm(Iterable<Tensor> parameters, double maxNorm) {
    if (!(maxNorm > 0)) {
      throw new IllegalArgumentException("maxNorm must be positive: " + maxNorm);
    }
    try (Scope scope = Scope.open(); Engine.GradGuard noGrad = Engine.noGrad()) {
      List<Tensor> grads = gradients(parameters);
      double total = norm(grads);
      double coefficient = maxNorm / (total + 1e-6);
      if (Double.isFinite(total) && coefficient < 1) {
        for (Tensor g : grads) {
          g.mul_(coefficient);
        }
      }
      return total;
    }
  }

  private static List<Tensor> gradients(Iterable<Tensor> parameters) {
    List<Tensor> grads = new ArrayList<>();
    for (Tensor p : parameters) {
      Tensor g = p.grad();
      if (g != null) {
        grads.add(g);
      }
    }
    return grads;
  }

  private static double norm(List<Tensor> grads) {
    double sumOfSquares = 0;
    for (Tensor g : grads) {
      double n = g.norm().item();
      sumOfSquares += n * n;
    }
    return Math.sqrt(sumOfSquares);
  }
}
