package dev.peft4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.tensor.Tensor;

/** Helpers shared by the model tests: ids to tensors, logits out, tolerance checks. */
final class ModelTesting {
  private ModelTesting() {}

  static Tensor ids(int... ids) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i];
    }
    return Tensor.ofLongs(l, 1, ids.length);
  }

  static Tensor batch(long[][] rows) {
    int b = rows.length;
    int t = rows[0].length;
    long[] flat = new long[b * t];
    for (int i = 0; i < b; i++) {
      System.arraycopy(rows[i], 0, flat, i * t, t);
    }
    return Tensor.ofLongs(flat, b, t);
  }

  /** Row {@code row} of a [B, T, V] tensor at position {@code pos}, as floats. */
  static float[] at(Tensor logits, int row, int pos) {
    return logits.select(0, row).select(0, pos).toFloatArray();
  }

  /**
   * Asserts {@code |actual - expected| <= rtol * max|expected| } elementwise: a relative
   * tolerance against the scale of the reference row.
   */
  static void assertClose(float[] actual, float[] expected, double rtol, String what) {
    assertThat(actual).as(what + " length").hasSameSizeAs(expected);
    double scale = 0;
    for (float e : expected) {
      scale = Math.max(scale, Math.abs(e));
    }
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    }
    assertThat(worst).as(what + ": max abs diff relative to scale " + scale).isLessThanOrEqualTo(rtol * scale);
  }
}
