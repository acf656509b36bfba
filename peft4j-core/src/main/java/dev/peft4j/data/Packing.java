package dev.peft4j.data;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * Packs language-modelling examples into fixed-size blocks, as Hugging Face's {@code run_clm}
 * {@code group_texts} does: no padding, no wasted compute.
 */
public final class Packing {
  private Packing() {}

  /**
   * Concatenates {@code examples} in order, with {@code separatorId} (usually EOS) after each one
   * that does not already end with it, and cuts the stream into blocks of {@code blockSize}
   * tokens. Labels are carried along (the separator's label is itself, so the model learns where
   * a document ends). The tail shorter than a block is dropped. Attention is not masked between
   * documents of a block.
   *
   * @param separatorId the token put between documents; empty to concatenate them directly
   * @return the blocks, each of exactly {@code blockSize} tokens
   * @throws IllegalArgumentException if {@code blockSize} is not positive, an example is a
   *     classification example, or there are fewer than {@code blockSize} tokens in all
   */
  public static List<EncodedExample> pack(List<EncodedExample> examples, int blockSize, OptionalInt separatorId) {
    if (blockSize <= 0) {
      throw new IllegalArgumentException("blockSize must be positive: " + blockSize);
    }
    int[] ids = new int[blockSize];
    int[] labels = new int[blockSize];
    int fill = 0;
    long total = 0;
    List<EncodedExample> blocks = new ArrayList<>();
    for (EncodedExample e : examples) {
      if (e.isClassification()) {
        throw new IllegalArgumentException("cannot pack classification examples");
      }
      int n = e.length();
      boolean separate = separatorId.isPresent() && e.id(n - 1) != separatorId.getAsInt();
      for (int i = 0; i < n + (separate ? 1 : 0); i++) {
        ids[fill] = i < n ? e.id(i) : separatorId.getAsInt();
        labels[fill] = i < n ? e.label(i) : separatorId.getAsInt();
        total++;
        if (++fill == blockSize) {
          blocks.add(EncodedExample.lm(ids, labels)); // copies
          fill = 0;
        }
      }
    }
    if (blocks.isEmpty()) {
      throw new IllegalArgumentException(
          "cannot pack: " + total + " tokens in all, fewer than one block of " + blockSize);
    }
    return List.copyOf(blocks);
  }
}
