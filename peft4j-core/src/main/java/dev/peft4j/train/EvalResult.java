package dev.peft4j.train;

import java.util.OptionalDouble;

/**
 * One evaluation over the whole evaluation {@link BatchSource}.
 *
 * @param step the optimizer step after which it ran
 * @param loss mean loss per item
 * @param perplexity {@code exp(loss)}
 * @param accuracy fraction of items correct, if the objective counts them
 * @param count number of items scored
 */
public record EvalResult(long step, double loss, double perplexity, OptionalDouble accuracy, long count) {

  /** The result of {@code stats} summed over all evaluation batches, after {@code step}. */
  public static EvalResult of(long step, EvalStats stats) {
    double loss = stats.meanLoss();
    OptionalDouble accuracy = stats.correct().isPresent() && stats.count() > 0
        ? OptionalDouble.of((double) stats.correct().getAsLong() / stats.count())
        : OptionalDouble.empty();
    return new EvalResult(step, loss, Math.exp(loss), accuracy, stats.count());
  }
}
