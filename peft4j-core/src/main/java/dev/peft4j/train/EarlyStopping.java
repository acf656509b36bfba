package dev.peft4j.train;

/**
 * Stops training when the evaluation loss has not improved (strictly decreased) for
 * {@code patience} evaluations in a row. Patience 0 never stops.
 */
final class EarlyStopping {
  private final int patience;
  private Double best;
  private int withoutImprovement;

  EarlyStopping(int patience, Double best, int withoutImprovement) {
    this.patience = patience;
    this.best = best;
    this.withoutImprovement = withoutImprovement;
  }

  /** Records an evaluation loss; true if training should stop now. */
  boolean update(double loss) {
    if (best == null || loss < best) {
      best = loss;
      withoutImprovement = 0;
    } else {
      withoutImprovement++;
    }
    return patience > 0 && withoutImprovement >= patience;
  }

  /** Lowest loss seen, or null before the first evaluation. */
  Double best() {
    return best;
  }

  int withoutImprovement() {
    return withoutImprovement;
  }
}
