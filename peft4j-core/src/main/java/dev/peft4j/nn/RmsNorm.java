package dev.peft4j.nn;

import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/** RMS normalization {@code x / sqrt(mean(x^2) + eps) * weight} (LLaMA's RMSNorm). */
public final class RmsNorm extends Module {
  private final Parameter weight;
  private final double eps;

  public RmsNorm(long dim, double eps) {
    this.weight = parameter("weight", dim);
    this.eps = eps;
  }

  public Tensor forward(Tensor x) {
    return Functional.rmsNorm(x, weight.value(), eps);
  }
}
