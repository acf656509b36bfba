package dev.peft4j.data;

import dev.peft4j.tensor.Tensor;
import java.util.Objects;

/**
 * One training batch, right-padded. Closing it frees the three tensors.
 *
 * @param inputIds int64 {@code [B, T]} token ids; padding positions hold the pad id
 * @param attentionMask int64 {@code [B, T]}: 1 for real tokens, 0 for padding
 * @param labels int64: {@code [B, T]} token labels for language modelling, aligned with {@code
 *     inputIds} (the model shifts them) and {@link EncodedExample#IGNORE_INDEX} where there is no
 *     loss (prompt and padding); or {@code [B]} class ids for classification
 * @param realTokens number of non-padding tokens (the sum of {@code attentionMask}), for
 *     tokens/s
 */
public record Batch(Tensor inputIds, Tensor attentionMask, Tensor labels, int realTokens) implements AutoCloseable {
  public Batch {
    Objects.requireNonNull(inputIds, "inputIds");
    Objects.requireNonNull(attentionMask, "attentionMask");
    Objects.requireNonNull(labels, "labels");
    if (realTokens < 0) {
      throw new IllegalArgumentException("realTokens must be non-negative: " + realTokens);
    }
  }

  /** Number of rows {@code B}. */
  public int size() {
    return (int) inputIds.size(0);
  }

  /** Number of columns {@code T}. */
  public int length() {
    return (int) inputIds.size(1);
  }

  /** Whether {@link #labels()} holds class ids ({@code [B]}) rather than token labels. */
  public boolean isClassification() {
    return labels.dim() == 1;
  }

  /** Frees the tensors; the batch must not be used afterwards. */
  @Override
  public void close() {
    inputIds.close();
    attentionMask.close();
    labels.close();
  }
}
