package dev.peft4j.nn;

import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/** Layer normalization over the last dimension with learned {@code weight} and {@code bias}. */
public final class LayerNorm extends Module {
  private final Parameter weight;
  private final Parameter bias;
  private final double eps;

  public LayerNorm(long dim, double eps) {
    this.weight = parameter("weight", dim);
    this.bias = parameter("bias", dim);
    this.eps = eps;
  }

  public Tensor forward(Tensor x) {
    return Functional.layerNorm(x, weight.value(), bias.value(), eps);
  }
}
