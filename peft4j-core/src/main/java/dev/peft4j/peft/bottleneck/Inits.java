package dev.peft4j.peft.bottleneck;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Tensor;

/** Random starting values for adapter weights, drawn in f32 from libtorch's seeded generator. */
final class Inits {
  private Inits() {}

  /** N(0, std²) truncated to [-2·std, 2·std] (out-of-range draws are redrawn, as {@code trunc_normal_}). */
  static Tensor truncatedNormal(double std, long... shape) {
    Tensor bound = Tensor.full(DType.F32, 2 * std);
    Tensor t = Tensor.zeros(DType.F32, shape).normal_(0, std);
    while (t.numel() > 0 && t.abs().max().item() > 2 * std) {
      t = Tensor.where(t.abs().le(bound), t, Tensor.zeros(DType.F32, shape).normal_(0, std));
    }
    return t;
  }

  static Tensor normal(double std, long... shape) {
    return Tensor.zeros(DType.F32, shape).normal_(0, std);
  }

  /**
   * PyTorch's default Linear init, {@code kaiming_uniform_(a=√5)}: U(-b, b) with
   * b = √(1/3)·√(3/fan_in) = 1/√fan_in.
   */
  static Tensor kaimingUniform(long fanIn, long... shape) {
    double bound = 1.0 / Math.sqrt(fanIn);
    return Tensor.zeros(DType.F32, shape).uniform_(-bound, bound);
  }
}
