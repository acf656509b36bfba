package dev.peft4j.nn;

import dev.peft4j.tensor.DType;
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

  public RmsNorm(long dim, double eps) {
    this(dim, eps, 0);
  }

  public RmsNorm(long dim, double eps, double offset) {
    this.weight = parameter("weight", dim);
    this.eps = eps;
    this.offset = offset;
  }

  public Tensor forward(Tensor x) {
    Tensor scale = offset == 0 ? weight.value() : weight.value().to(DType.F32).add(offset);
    return Functional.rmsNorm(x, scale, eps);
  }
}
