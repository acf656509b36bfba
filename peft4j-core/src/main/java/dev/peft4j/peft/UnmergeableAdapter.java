package dev.peft4j.peft;

/**
 * An adapter whose change is not a weight update (it adds positions, or a non-linear function of
 * the input), so it cannot be folded into the base weights: {@link #merge()} always throws.
 */
public interface UnmergeableAdapter extends Adapter {

  /** @throws UnsupportedOperationException always */
  @Override
  default void merge() {
    throw new UnsupportedOperationException(whyNotMergeable());
  }

  /** Nothing to undo. */
  @Override
  default void unmerge() {}

  @Override
  default boolean merged() {
    return false;
  }

  @Override
  default boolean mergeable() {
    return false;
  }
}
