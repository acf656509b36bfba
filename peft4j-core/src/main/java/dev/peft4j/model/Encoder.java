package dev.peft4j.model;

import dev.peft4j.tensor.Tensor;

/** A bidirectional encoder (BERT family): token ids in, contextual hidden states out. */
public interface Encoder {

  /**
   * @param inputIds int64 [B, T]
   * @param tokenTypeIds int64 [B, T] segment ids, or null for all zeros
   * @param attentionMask int64 [B, T], 1 for real tokens and 0 for padding; or null
   */
  EncoderOutput encode(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask);

  /**
   * {@link #encode} cut into {@link Stages}: what gradient checkpointing runs.
   *
   * @throws UnsupportedOperationException if the encoder cannot be run in stages (the default)
   */
  default Stages<EncoderOutput> stages(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot be run in stages"
        + " (gradient checkpointing)");
  }

  /** Width of the hidden states. */
  int hiddenSize();

  /**
   * @param lastHiddenState [B, T, hidden], the caller's T positions (virtual tokens left out)
   * @param pooled [B, hidden] pooler output, or null when the model has no pooler; it reads the
   *     first position, which is a virtual token when prompt tuning or P-tuning prepends them
   */
  record EncoderOutput(Tensor lastHiddenState, Tensor pooled) {}
}
