package dev.peft4j.train;

import dev.peft4j.tensor.Tensor;

/**
 * Back-propagates a loss taken from what a forward pass returns ({@code O}: the scalar loss itself,
 * or the final hidden states a {@link ChunkedCrossEntropy} scores).
 *
 * @param <O> what the pass returns
 */
@FunctionalInterface
interface LossBackward<O> {

  /**
   * Back-propagates {@code loss(out) / divisor} through {@code out}'s graph and returns the loss
   * (not divided). When the loss is not finite, what was back-propagated is unspecified: the
   * trainer zeroes the gradients and stops.
   */
  double backward(O out, int divisor);

  /** For a pass that returns the scalar loss itself. */
  static double scalar(Tensor loss, int divisor) {
    double value = loss.item();
    if (Double.isFinite(value)) {
      (divisor == 1 ? loss : loss.div(divisor)).backward();
    }
    return value;
  }
}
