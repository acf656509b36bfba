package dev.peft4j.model;

import dev.peft4j.nn.KvCache;
import dev.peft4j.tensor.Tensor;

/** A decoder-only language model: token ids in, next-token logits out. */
public interface CausalLm {

  /**
   * Runs the model on {@code inputIds} after whatever {@code cache} already holds.
   *
   * @param inputIds int64 [B, T]
   * @param attentionMask int64 [B, past + T], 1 for real tokens and 0 for padding (left or
   *     right); null when no row is padded
   * @param cache the keys/values of earlier positions, extended in place; null to run without
   * @return logits [B, T, vocab] in the compute dtype
   */
  Tensor forward(Tensor inputIds, Tensor attentionMask, KvCache cache);

  /**
   * {@link #forward} without a cache, cut into {@link Stages} whose head returns the logits
   * [B, T, vocab]: what gradient checkpointing runs.
   *
   * @throws UnsupportedOperationException if the model cannot be run in stages (the default)
   */
  default Stages<Tensor> stages(Tensor inputIds, Tensor attentionMask) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot be run in stages"
        + " (gradient checkpointing)");
  }

  /** An empty cache for this model. */
  KvCache newCache();

  int vocabSize();

  /** The longest sequence the model accepts ({@code max_position_embeddings}). */
  long contextLength();
}
