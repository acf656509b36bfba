package dev.peft4j.cli;

import dev.peft4j.tensor.Tensor;

/** Sequences of different lengths padded into one [B, T] batch with an attention mask. */
record PaddedBatch(Tensor ids, Tensor mask) {
  private static final long PAD_ID = 0;

  /** Pads in front, so every row's last token is at the last position (for causal models). */
  static PaddedBatch left(long[][] rows) {
    return of(rows, true);
  }

  /** Pads at the end (for encoders, whose first token is the summary). */
  static PaddedBatch right(long[][] rows) {
    return of(rows, false);
  }

  private static PaddedBatch of(long[][] rows, boolean left) {
    int length = 0;
    for (long[] r : rows) {
      length = Math.max(length, r.length);
    }
    long[] ids = new long[rows.length * length];
    long[] mask = new long[rows.length * length];
    for (int i = 0; i < rows.length; i++) {
      int offset = left ? length - rows[i].length : 0;
      for (int j = 0; j < length; j++) {
        ids[i * length + j] = PAD_ID;
      }
      for (int j = 0; j < rows[i].length; j++) {
        ids[i * length + offset + j] = rows[i][j];
        mask[i * length + offset + j] = 1;
      }
    }
    return new PaddedBatch(Tensor.ofLongs(ids, rows.length, length), Tensor.ofLongs(mask, rows.length, length));
  }
}
