package dev.peft4j.peft.vera;

import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Tensor;

/**
 * VeRA's frozen random matrices, shared by every adapted layer of one adapter: A [r, in_max] and
 * B [out_max, r] at the largest shapes among the targets, each layer using A's first {@code in}
 * columns and B's first {@code out} rows. They are drawn as PEFT draws them: Kaiming-uniform
 * (bound √(6 / fan_in)), A then B, from PyTorch's CPU generator seeded with
 * {@code projection_prng_key} — libtorch's generator is the same Mersenne Twister, so the same key
 * gives the same matrices; the default generator's state is restored afterwards.
 */
final class VeraProjections extends Module {
  private final Parameter a;
  private final Parameter b;

  VeraProjections(int r, long maxIn, long maxOut, long prngKey, DType dtype) {
    a = parameter("vera_A", r, maxIn);
    b = parameter("vera_B", maxOut, r);
    a.setTrainable(false); // frozen: no gradient is recorded for them
    b.setTrainable(false);
    byte[] state = Engine.rngState();
    try (Engine.GradGuard g = Engine.noGrad()) {
      Engine.manualSeed(prngKey);
      a.set(kaimingUniform(r, maxIn).to(dtype));
      b.set(kaimingUniform(maxOut, r).to(dtype));
    } finally {
      Engine.setRngState(state);
    }
  }

  /** PyTorch's {@code kaiming_uniform_} with gain √2 for a [rows, fanIn] matrix, float32. */
  private static Tensor kaimingUniform(long rows, long fanIn) {
    double bound = Math.sqrt(6.0 / fanIn);
    return Tensor.zeros(DType.F32, rows, fanIn).uniform_(-bound, bound);
  }

  /** A, {@code vera_A} [r, in_max]. */
  Parameter a() {
    return a;
  }

  /** B, {@code vera_B} [out_max, r]. */
  Parameter b() {
    return b;
  }

  /** A's first {@code in} columns: [r, in]. */
  Tensor slicedA(long in) {
    return a.value().narrow(1, 0, in);
  }

  /** B's first {@code out} rows: [out, r]. */
  Tensor slicedB(long out) {
    return b.value().narrow(0, 0, out);
  }
}
