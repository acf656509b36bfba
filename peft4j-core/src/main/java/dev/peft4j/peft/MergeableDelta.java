package dev.peft4j.peft;

/** A delta that folds into its host's weights and takes itself out again. */
public interface MergeableDelta {
  /**
   * Computes the merged weights without changing anything.
   *
   * @param module the host's path, for the error
   * @return what writes them in
   * @throws IllegalStateException naming {@code module} if they would not be finite
   */
  Runnable prepareMerge(String module);

  /** Takes the merged change out of the host's weights again. */
  void unmerge();
}
