package dev.peft4j.nn;

import dev.peft4j.tensor.Tensor;

/**
 * A delta on an {@link Embedding} that changes the table itself, so that an output head tied to
 * the table ({@link Embedding#asOutputHead}) sees the change too — PEFT's trainable tokens, whose
 * tied head shares the trained rows. (LoRA on an embedding changes only the lookup, as in PEFT.)
 */
public interface HeadDelta {

  /**
   * @param logits [..., vocab] the tied head's logits so far
   * @param hidden [..., dim] the head's input
   * @return the logits with this delta's change to the table applied
   */
  Tensor addToHead(Tensor logits, Tensor hidden);
}
