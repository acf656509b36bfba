package dev.peft4j.model;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Tensor;
import java.util.Arrays;

/** Argument checks shared by the causal models' {@code forward}. */
public final class CausalInputs {
  private CausalInputs() {}

  /**
   * @throws IllegalArgumentException if {@code inputIds} is not int64 [B, T] of ids below
   *     {@code vocabSize}, the mask is not [B, past + T], or the sequence exceeds
   *     {@code contextLength}
   */
  public static void check(Tensor inputIds, Tensor attentionMask, long past, long contextLength, long vocabSize) {
    if (inputIds.dim() != 2 || inputIds.dtype() != DType.I64 || inputIds.numel() == 0) {
      throw new IllegalArgumentException("input ids must be non-empty int64 [batch, length], got " + inputIds);
    }
    long min = (long) inputIds.min().item();
    long max = (long) inputIds.max().item();
    if (min < 0 || max >= vocabSize) {
      throw new IllegalArgumentException("token id " + (min < 0 ? min : max)
          + " is outside the vocabulary [0, " + vocabSize + ")");
    }
    long total = past + inputIds.size(1);
    if (total > contextLength) {
      throw new IllegalArgumentException("sequence of " + total
          + " tokens is longer than the model's context length " + contextLength);
    }
    if (attentionMask != null) {
      long[] expected = {inputIds.size(0), total};
      if (!Arrays.equals(attentionMask.shape(), expected)) {
        throw new IllegalArgumentException("attention mask must have shape " + Arrays.toString(expected)
            + " (batch, cached + new tokens), got " + Arrays.toString(attentionMask.shape()));
      }
    }
  }
}
