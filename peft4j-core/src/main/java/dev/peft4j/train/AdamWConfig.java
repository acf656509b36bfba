package dev.peft4j.train;

/**
 * Hyperparameters of {@link AdamW}, with {@code torch.optim.AdamW}'s meaning.
 *
 * @param lr peak learning rate, positive; the {@link LrSchedule} multiplies it per step
 * @param beta1 decay of the first-moment average, in [0, 1); default 0.9
 * @param beta2 decay of the second-moment average, in [0, 1); default 0.999
 * @param eps added to {@code sqrt(v̂)} in the denominator, positive; default 1e-8
 * @param weightDecay decoupled decay coefficient λ ({@code p -= lr·λ·p}), non-negative;
 *     default 0.01; never applied to the no-decay group (see {@link AdamW#isNoDecay})
 */
public record AdamWConfig(double lr, double beta1, double beta2, double eps, double weightDecay) {

  public AdamWConfig {
    if (!(lr > 0) || Double.isInfinite(lr)) {
      throw new IllegalArgumentException("lr must be positive and finite: " + lr);
    }
    if (!(beta1 >= 0 && beta1 < 1)) {
      throw new IllegalArgumentException("beta1 must be in [0, 1): " + beta1);
    }
    if (!(beta2 >= 0 && beta2 < 1)) {
      throw new IllegalArgumentException("beta2 must be in [0, 1): " + beta2);
    }
    if (!(eps > 0)) {
      throw new IllegalArgumentException("eps must be positive: " + eps);
    }
    if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
      throw new IllegalArgumentException("weightDecay must be non-negative and finite: " + weightDecay);
    }
  }

  /** Learning rate {@code lr} with the defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
  public static AdamWConfig withLr(double lr) {
    return new AdamWConfig(lr, 0.9, 0.999, 1e-8, 0.01);
  }

  /** A copy with weight decay {@code weightDecay}. */
  public AdamWConfig withWeightDecay(double weightDecay) {
    return new AdamWConfig(lr, beta1, beta2, eps, weightDecay);
  }

  /** A copy with betas {@code (beta1, beta2)}. */
  public AdamWConfig withBetas(double beta1, double beta2) {
    return new AdamWConfig(lr, beta1, beta2, eps, weightDecay);
  }

  /** A copy with epsilon {@code eps}. */
  public AdamWConfig withEps(double eps) {
    return new AdamWConfig(lr, beta1, beta2, eps, weightDecay);
  }
}
