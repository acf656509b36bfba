package dev.peft4j.train;

/**
 * A learning-rate multiplier as a pure function of the optimizer step, after Hugging Face
 * {@code transformers}' {@code get_*_schedule_with_warmup} (a {@code LambdaLR}): the
 * {@code (s+1)}-th optimizer update uses {@code baseLr × multiplier(s)}, where {@code s} is the
 * number of updates already made. So with warmup the first update has learning rate 0, as in
 * Hugging Face.
 */
public sealed interface LrSchedule
    permits LrSchedule.Constant, LrSchedule.ConstantWithWarmup, LrSchedule.Linear, LrSchedule.Cosine {

  /** The multiplier of the base learning rate after {@code step} (≥ 0) completed updates. */
  double multiplier(long step);

  /** {@code baseLr × multiplier(step)}. */
  default double lr(double baseLr, long step) {
    return baseLr * multiplier(step);
  }

  /** Always 1 ({@code get_constant_schedule}). */
  static LrSchedule constant() {
    return new Constant();
  }

  /** {@code s / warmup} during warmup, then 1 ({@code get_constant_schedule_with_warmup}). */
  static LrSchedule constantWithWarmup(long warmupSteps) {
    return new ConstantWithWarmup(warmupSteps);
  }

  /**
   * Linear warmup from 0 to 1 over {@code warmupSteps}, then linear decay to 0 at
   * {@code totalSteps} ({@code get_linear_schedule_with_warmup}).
   */
  static LrSchedule linear(long warmupSteps, long totalSteps) {
    return new Linear(warmupSteps, totalSteps);
  }

  /**
   * Linear warmup, then half a cosine period from 1 down to 0 at {@code totalSteps}
   * ({@code get_cosine_schedule_with_warmup} with {@code num_cycles=0.5}).
   */
  static LrSchedule cosine(long warmupSteps, long totalSteps) {
    return new Cosine(warmupSteps, totalSteps, 0.5);
  }

  private static double warmup(long step, long warmupSteps) {
    return (double) step / Math.max(1, warmupSteps);
  }

  private static void checkStep(long step) {
    if (step < 0) {
      throw new IllegalArgumentException("step must be non-negative: " + step);
    }
  }

  /** Multiplier 1 at every step. */
  record Constant() implements LrSchedule {
    @Override
    public double multiplier(long step) {
      checkStep(step);
      return 1;
    }
  }

  /**
   * {@code s / max(1, warmupSteps)} for {@code s < warmupSteps}, then 1.
   *
   * @param warmupSteps non-negative
   */
  record ConstantWithWarmup(long warmupSteps) implements LrSchedule {
    public ConstantWithWarmup {
      if (warmupSteps < 0) {
        throw new IllegalArgumentException("warmupSteps must be non-negative: " + warmupSteps);
      }
    }

    @Override
    public double multiplier(long step) {
      checkStep(step);
      return step < warmupSteps ? warmup(step, warmupSteps) : 1;
    }
  }

  /**
   * {@code s / max(1, warmupSteps)} for {@code s < warmupSteps}, then
   * {@code max(0, (totalSteps − s) / max(1, totalSteps − warmupSteps))}.
   *
   * @param warmupSteps in {@code [0, totalSteps]}
   * @param totalSteps positive: the step at which the multiplier reaches 0
   */
  record Linear(long warmupSteps, long totalSteps) implements LrSchedule {
    public Linear {
      checkWarmupAndTotal(warmupSteps, totalSteps);
    }

    @Override
    public double multiplier(long step) {
      checkStep(step);
      if (step < warmupSteps) {
        return warmup(step, warmupSteps);
      }
      return Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
    }
  }

  /**
   * {@code s / max(1, warmupSteps)} for {@code s < warmupSteps}, then with
   * {@code progress = (s − warmupSteps) / max(1, totalSteps − warmupSteps)}:
   * {@code max(0, ½·(1 + cos(π · 2·numCycles · progress)))}.
   *
   * @param warmupSteps in {@code [0, totalSteps]}
   * @param totalSteps positive
   * @param numCycles cosine periods over the decay, positive; 0.5 decays once from 1 to 0
   */
  record Cosine(long warmupSteps, long totalSteps, double numCycles) implements LrSchedule {
    public Cosine {
      checkWarmupAndTotal(warmupSteps, totalSteps);
      if (!(numCycles > 0) || Double.isInfinite(numCycles)) {
        throw new IllegalArgumentException("numCycles must be positive and finite: " + numCycles);
      }
    }

    @Override
    public double multiplier(long step) {
      checkStep(step);
      if (step < warmupSteps) {
        return warmup(step, warmupSteps);
      }
      double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
      return Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * numCycles * 2.0 * progress)));
    }
  }

  private static void checkWarmupAndTotal(long warmupSteps, long totalSteps) {
    if (totalSteps <= 0) {
      throw new IllegalArgumentException("totalSteps must be positive: " + totalSteps);
    }
    if (warmupSteps < 0 || warmupSteps > totalSteps) {
      throw new IllegalArgumentException(
          "warmupSteps must be in [0, totalSteps=" + totalSteps + "]: " + warmupSteps);
    }
  }
}
