package dev.peft4j.nn;

import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/** {@code y = x W^T + b} with {@code weight} [out, in] and optional {@code bias} [out]. */
public final class Linear extends Module {
  private final long inFeatures;
  private final long outFeatures;
  private final Parameter weight;
  private final Parameter bias; // null when the layer has no bias

  public Linear(long inFeatures, long outFeatures, boolean bias) {
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = parameter("weight", outFeatures, inFeatures);
    this.bias = bias ? parameter("bias", outFeatures) : null;
  }

  public long inFeatures() {
    return inFeatures;
  }

  public long outFeatures() {
    return outFeatures;
  }

  public Parameter weight() {
    return weight;
  }

  /** @param x [..., in] @return [..., out] */
  public Tensor forward(Tensor x) {
    return Functional.linear(x, weight.value(), bias == null ? null : bias.value());
  }
}
