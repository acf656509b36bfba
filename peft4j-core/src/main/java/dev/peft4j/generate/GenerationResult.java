package dev.peft4j.generate;

import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link Generator} produced for one prompt.
 *
 * @param ids the new token ids (not the prompt); ends with the stop token when
 *     {@link #finishReason()} is {@link FinishReason#STOP_TOKEN}
 * @param text the new ids decoded with special tokens skipped, without the stop token and cut
 *     before a stop string; empty when the generator has no tokenizer
 * @param finishReason why generation ended for this row
 */
public record GenerationResult(long[] ids, Optional<String> text, FinishReason finishReason) {
  public GenerationResult {
    ids = ids.clone();
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(finishReason, "finishReason");
  }

  /** A copy of the new token ids. */
  @Override
  public long[] ids() {
    return ids.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GenerationResult
        && Arrays.equals(ids, ((GenerationResult) o).ids)
        && text.equals(((GenerationResult) o).text)
        && finishReason == ((GenerationResult) o).finishReason;
  }

  @Override
  public int hashCode() {
    return Objects.hash(Arrays.hashCode(ids), text, finishReason);
  }

  @Override
  public String toString() {
    return "GenerationResult[ids=" + Arrays.toString(ids) + ", text=" + text + ", finishReason=" + finishReason + "]";
  }
}
