package dev.peft4j.generate;

import dev.peft4j.tensor.Tensor;

/** Which tokens each row already contains (prompt and output), for the repetition penalty. */
final class SeenTokens {
  private final int vocab;
  private final float[] seen; // [B * V], 1 where present

  SeenTokens(long[][] prompts, int vocab) {
    this.vocab = vocab;
    this.seen = new float[prompts.length * vocab];
    for (int r = 0; r < prompts.length; r++) {
      for (long id : prompts[r]) {
        add(r, id);
      }
    }
  }

  void add(int row, long id) {
    if (id >= 0 && id < vocab) {
      seen[row * vocab + (int) id] = 1;
    }
  }

  /** bool [B, V], true where the row contains the token. */
  Tensor mask() {
    return Tensor.of(seen, seen.length / vocab, vocab).ne(0);
  }
}
