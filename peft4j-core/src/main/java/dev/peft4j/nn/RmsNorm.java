package dev.peft4j.nn;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.DerivedTensor;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * RMS normalization {@code x / sqrt(mean(x^2) + eps) * weight} (LLaMA's RMSNorm), or with an
 * offset {@code * (offset + weight)}, the offset and weight in float32 (Gemma's RMSNorm, offset 1).
 */
public final class RmsNorm extends Module {
  private final Parameter weight;
  private final double eps;
  private final double offset;
  private final DerivedTensor offsetWeight = new DerivedTensor(); // offset + w while w records no gradient

  public RmsNorm(long dim, double eps) {
    this(dim, eps, 0);
  }

  public RmsNorm(long dim, double eps, double offset) {
    this.weight = parameter("weight", dim);
    this.eps = eps;
    this.offset = offset;
  }

  public Tensor forward(Tensor x) {
    Tensor w = weight.value();
    if (offset == 0) {
      return Functional.rmsNorm(x, w, eps);
    }
    Tensor scale = Engine.records(w) ? offsetWeight(w) : offsetWeight.get(() -> offsetWeight(w), w);
    return Functional.rmsNorm(x, scale, eps);
  }

  private Tensor offsetWeight(Tensor w) {
    return w.to(DType.F32).add(offset);
  }
}
