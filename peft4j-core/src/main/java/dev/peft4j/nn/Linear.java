package dev.peft4j.nn;

import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/** {@code y = x W^T + b} with {@code weight} [out, in] and optional {@code bias} [out]. */
public final class Linear extends Projection {
  private final Parameter weight;
  private final Parameter bias; // null when the layer has no bias

  public Linear(long inFeatures, long outFeatures, boolean bias) {
    super(inFeatures, outFeatures);
    this.weight = parameter("weight", outFeatures, inFeatures);
    this.bias = bias ? parameter("bias", outFeatures) : null;
  }

  @Override
  public Parameter weight() {
    return weight;
  }

  @Override
  public Parameter bias() {
    return bias;
  }

  @Override
  public boolean weightTransposed() {
    return false;
  }

  @Override
  protected Tensor baseForward(Tensor x) {
    return Functional.linear(x, weight.value(), bias == null ? null : bias.value());
  }
}
