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
   * {@link #forward} for the last position of each row only, [B, vocab]: what choosing the next
   * token needs. Models with a separate LM head ({@link #logits}) project only that position
   * (Hugging Face's {@code logits_to_keep=1}), which spares a [B·T, hidden] × [hidden, vocab]
   * matmul in a prefill.
   */
  default Tensor lastLogits(Tensor inputIds, Tensor attentionMask, KvCache cache) {
    return forward(inputIds, attentionMask, cache).select(1, inputIds.size(1) - 1);
  }

  /**
   * {@link #forward} without a cache and without its LM head, cut into {@link Stages} whose head
   * returns the final hidden states [B, T, hidden] (after the final norm, virtual tokens removed);
   * {@link #logits} turns them into what {@link #forward} returns. What training runs (the loss is
   * taken from the hidden states a chunk of positions at a time; gradient checkpointing).
   *
   * @throws UnsupportedOperationException if the model cannot be run in stages (the default)
   */
  default Stages<Tensor> stages(Tensor inputIds, Tensor attentionMask) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot be run in stages");
  }

  /**
   * The LM head alone: next-token logits [..., vocab] of final hidden states [..., hidden] as
   * {@link #stages} returns them, for any leading shape (each position is projected on its own).
   *
   * @throws UnsupportedOperationException if the model cannot be run in stages (the default)
   */
  default Tensor logits(Tensor hidden) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot be run in stages");
  }

  /** An empty cache for this model. */
  KvCache newCache();

  int vocabSize();

  /** The longest sequence the model accepts ({@code max_position_embeddings}). */
  long contextLength();
}
