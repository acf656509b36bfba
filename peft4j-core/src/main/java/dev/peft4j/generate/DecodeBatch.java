package dev.peft4j.generate;

import dev.peft4j.tensor.Tensor;

/**
 * The token layout of a batch being decoded, kept on the Java side: prompts padded on the left
 * so every row's last token is at the last position, and an attention mask that grows by one
 * position per step (0 for padding and for rows that already finished).
 */
final class DecodeBatch {
  /** Fed for padding and finished rows; masked out, so its value does not matter. */
  static final long PAD_ID = 0;

  private final long[][] prompts;
  private final long[][] mask; // [B][longest prompt + max new tokens]
  private int length;          // positions so far
  private boolean padded;      // whether the mask has a 0 anywhere

  DecodeBatch(long[][] prompts, int maxNewTokens) {
    this.prompts = prompts;
    int longest = 0;
    for (long[] p : prompts) {
      longest = Math.max(longest, p.length);
    }
    this.mask = new long[prompts.length][longest + maxNewTokens];
    for (int r = 0; r < prompts.length; r++) {
      for (int t = longest - prompts[r].length; t < longest; t++) {
        mask[r][t] = 1;
      }
      padded |= prompts[r].length != longest;
    }
    this.length = longest;
  }

  int rows() {
    return prompts.length;
  }

  /** The left-padded prompts, int64 [B, longest prompt]. */
  Tensor promptIds() {
    long[] flat = new long[prompts.length * length];
    for (int r = 0; r < prompts.length; r++) {
      int offset = length - prompts[r].length;
      for (int t = 0; t < offset; t++) {
        flat[r * length + t] = PAD_ID;
      }
      System.arraycopy(prompts[r], 0, flat, r * length + offset, prompts[r].length);
    }
    return Tensor.ofLongs(flat, prompts.length, length);
  }

  /**
   * Adds one position: {@code tokens[r]} for active rows, the pad id (masked) for finished ones.
   *
   * @return the ids to feed, int64 [B, 1]
   */
  Tensor append(long[] tokens, boolean[] active) {
    long[] ids = new long[prompts.length];
    for (int r = 0; r < prompts.length; r++) {
      ids[r] = active[r] ? tokens[r] : PAD_ID;
      mask[r][length] = active[r] ? 1 : 0;
      padded |= !active[r];
    }
    length++;
    return Tensor.ofLongs(ids, prompts.length, 1);
  }

  /** The attention mask of all positions so far, int64 [B, length]; null while nothing is masked. */
  Tensor mask() {
    if (!padded) {
      return null;
    }
    long[] flat = new long[prompts.length * length];
    for (int r = 0; r < prompts.length; r++) {
      System.arraycopy(mask[r], 0, flat, r * length, length);
    }
    return Tensor.ofLongs(flat, prompts.length, length);
  }
}
