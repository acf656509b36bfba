package dev.peft4j.train;

import java.util.OptionalLong;

/**
 * Evaluation statistics of one or more batches, summed so that batches of any size combine
 * exactly.
 *
 * @param lossSum the loss summed over the {@code count} items (tokens or examples)
 * @param count number of items scored, non-negative
 * @param correct number of items predicted correctly, in {@code [0, count]}; empty when the
 *     task has no notion of accuracy
 */
public record EvalStats(double lossSum, long count, OptionalLong correct) {

  public EvalStats {
    if (count < 0) {
      throw new IllegalArgumentException("count must be non-negative: " + count);
    }
    if (correct == null) {
      throw new NullPointerException("correct (use OptionalLong.empty())");
    }
    if (correct.isPresent() && (correct.getAsLong() < 0 || correct.getAsLong() > count)) {
      throw new IllegalArgumentException(
          "correct must be in [0, count=" + count + "]: " + correct.getAsLong());
    }
  }

  /** Statistics without an accuracy. */
  public static EvalStats of(double lossSum, long count) {
    return new EvalStats(lossSum, count, OptionalLong.empty());
  }

  /** Statistics with {@code correct} of {@code count} items right. */
  public static EvalStats of(double lossSum, long count, long correct) {
    return new EvalStats(lossSum, count, OptionalLong.of(correct));
  }

  /** Nothing scored yet: the identity of {@link #plus}. */
  public static EvalStats empty() {
    return of(0, 0);
  }

  /**
   * The sum of both; the correct count is kept only if both have one (an empty {@code this}
   * with count 0 adopts {@code other}'s).
   */
  public EvalStats plus(EvalStats other) {
    if (count == 0 && lossSum == 0 && correct.isEmpty()) {
      return other;
    }
    OptionalLong c = correct.isPresent() && other.correct.isPresent()
        ? OptionalLong.of(correct.getAsLong() + other.correct.getAsLong())
        : OptionalLong.empty();
    return new EvalStats(lossSum + other.lossSum, count + other.count, c);
  }

  /** {@code lossSum / count}; NaN when nothing was scored. */
  public double meanLoss() {
    return count == 0 ? Double.NaN : lossSum / count;
  }
}
