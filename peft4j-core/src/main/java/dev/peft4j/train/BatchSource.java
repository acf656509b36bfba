package dev.peft4j.train;

/**
 * Deterministic, random-access training or evaluation data: the same {@code (epoch, index)}
 * always yields the same batch, so a resumed run sees exactly the batches an uninterrupted run
 * would have seen. Shuffling, if any, must be a function of the epoch (e.g. seeded by it).
 *
 * <p>{@link #batch} is called inside the trainer's per-step {@code Scope}: tensors it creates
 * are freed when the step ends.
 *
 * @param <B> the batch type, e.g. token ids with attention mask and labels
 */
public interface BatchSource<B> {

  /** Number of batches in one epoch; positive and the same for every epoch. */
  int batchesPerEpoch();

  /**
   * Batch {@code index} of {@code epoch}.
   *
   * @param epoch 0-based epoch
   * @param index 0-based, below {@link #batchesPerEpoch()}
   */
  B batch(int epoch, int index);
}
