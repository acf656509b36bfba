package dev.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.model.CausalLm;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;

/** Helpers shared by the prompt-family tests. */
public final class PromptTesting {
  private PromptTesting() {}

  /** int64 [rows, length] from equal-length rows. */
  public static Tensor batch(long[]... rows) {
    int t = rows[0].length;
    long[] flat = new long[rows.length * t];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(rows[i], 0, flat, i * t, t);
    }
    return Tensor.ofLongs(flat, rows.length, t);
  }

  /** Logits [T][V] of one unpadded row, without gradients. */
  public static float[][] logits(CausalLm model, long... ids) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      return rows(model.forward(batch(ids), null, null).select(0, 0));
    }
  }

  /** A [T, V] tensor as float rows. */
  public static float[][] rows(Tensor matrix) {
    float[][] out = new float[(int) matrix.size(0)][];
    for (int i = 0; i < out.length; i++) {
      out[i] = matrix.select(0, i).toFloatArray();
    }
    return out;
  }

  /** Asserts {@code max|a - e| <= rtol · max|e|} for each row. */
  public static void assertClose(float[][] actual, float[][] expected, double rtol, String what) {
    assertThat(actual.length).as(what + " rows").isEqualTo(expected.length);
    for (int t = 0; t < expected.length; t++) {
      assertClose(actual[t], expected[t], rtol, what + " position " + t);
    }
  }

  public static void assertClose(float[] actual, float[] expected, double rtol, String what) {
    assertThat(actual).as(what + " length").hasSameSizeAs(expected);
    double scale = 0;
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      scale = Math.max(scale, Math.abs(expected[i]));
      worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    }
    assertThat(worst).as(what + ": max abs diff vs scale " + scale).isLessThanOrEqualTo(rtol * scale);
  }

  /** The largest absolute difference between two equally shaped row sets. */
  public static double maxDiff(float[][] a, float[][] b) {
    double d = 0;
    for (int t = 0; t < a.length; t++) {
      for (int i = 0; i < a[t].length; i++) {
        d = Math.max(d, Math.abs(a[t][i] - b[t][i]));
      }
    }
    return d;
  }

  public static boolean allFinite(float[][] a) {
    for (float[] r : a) {
      for (float x : r) {
        if (!Float.isFinite(x)) {
          return false;
        }
      }
    }
    return true;
  }
}
