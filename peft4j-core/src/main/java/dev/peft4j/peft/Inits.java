package dev.peft4j.peft;

import dev.peft4j.nn.Embedding;
import dev.peft4j.nn.Linear;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Tensor;

/** PyTorch's default initialisations for the small float32 modules PEFT methods add, from libtorch's seeded generator. */
public final class Inits {
  private Inits() {}

  /**
   * {@code kaiming_uniform_(a=√5)} of a [rows, fanIn] matrix, PyTorch's default for a Linear weight:
   * U(-1/√fanIn, 1/√fanIn), float32.
   */
  public static Tensor kaimingUniform(long rows, long fanIn) {
    double bound = 1.0 / Math.sqrt(fanIn);
    return Tensor.zeros(DType.F32, rows, fanIn).uniform_(-bound, bound);
  }

  /**
   * {@code torch.nn.Linear(in, out)}: weight {@link #kaimingUniform}, bias U(-1/√in, 1/√in).
   */
  public static Linear linear(long in, long out, boolean bias) {
    Linear l = new Linear(in, out, bias);
    double bound = 1.0 / Math.sqrt(in);
    try (Engine.GradGuard g = Engine.noGrad()) {
      l.weight().set(kaimingUniform(out, in));
      if (bias) {
        l.bias().set(Tensor.zeros(DType.F32, out).uniform_(-bound, bound));
      }
    }
    return l;
  }

  /** {@code torch.nn.Embedding(num, dim)}: weight N(0, 1). */
  public static Embedding embedding(long num, long dim) {
    return embedding(Tensor.randn(DType.F32, num, dim));
  }

  /** An embedding table holding (a float32 copy of) {@code weight} [num, dim]. */
  public static Embedding embedding(Tensor weight) {
    Embedding e = new Embedding(weight.size(0), weight.size(1));
    try (Engine.GradGuard g = Engine.noGrad()) {
      e.weight().set(weight.to(DType.F32).copy());
    }
    return e;
  }
}
