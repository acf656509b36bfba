package dev.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.model.CausalLm;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/** Helpers shared by the PEFT tests: logits of equal-length rows, their largest entry and difference. */
public final class PeftTesting {
  private PeftTesting() {}

  /** Logits [B, T, V] of {@code rows} (all the same length) as one flat array. */
  public static float[] logits(CausalLm model, long[]... rows) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      long[] flat = new long[rows.length * rows[0].length];
      for (int i = 0; i < rows.length; i++) {
        System.arraycopy(rows[i], 0, flat, i * rows[0].length, rows[0].length);
      }
      return model.forward(Tensor.ofLongs(flat, rows.length, rows[0].length), null, null).toFloatArray();
    }
  }

  /**
   * Logits of {@code row} with only {@code adapter} active ({@link PeftModel#BASE}: adapters
   * disabled), as a row of a mixed batch should compute it.
   */
  public static float[] logitsAlone(PeftModel peft, String adapter, long[] row) {
    if (adapter.equals(PeftModel.BASE)) {
      try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
        return logits(peft.causalLm(), row);
      }
    }
    peft.setActive(adapter);
    return logits(peft.causalLm(), row);
  }

  /**
   * Runs {@code rows} as one mixed batch, row i with adapter {@code plan[i]}, and checks each row's
   * logits against {@link #logitsAlone} (1e-5, relative above 1).
   */
  public static void assertMixedRowsEqualAlone(PeftModel peft, List<String> plan, long[][] rows) {
    float[] mixed;
    try (PeftModel.MixedBatch m = peft.perRowAdapters(plan)) {
      mixed = logits(peft.causalLm(), rows);
    }
    int n = mixed.length / rows.length;
    for (int i = 0; i < rows.length; i++) {
      float[] alone = logitsAlone(peft, plan.get(i), rows[i]);
      assertThat(maxAbsDiff(Arrays.copyOfRange(mixed, i * n, (i + 1) * n), alone)).as(plan + " row " + i)
          .isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(alone)));
    }
  }

  /**
   * Merging {@code peft}'s active adapter gives the logits of {@code ids} it gives unmerged (1e-5,
   * relative above 1), which differ from the base's by more than 1e-3; unmerging restores the
   * parameter {@code weight} (1e-6).
   */
  public static void assertMergesExactlyAndUnmergesBack(PeftModel peft, float[] base, String weight, long[] ids) {
    Parameter w = peft.baseModel().namedParameters().get(weight);
    float[] before = w.value().toFloatArray();
    float[] unmerged = logits(peft.causalLm(), ids);
    assertThat(maxAbsDiff(unmerged, base)).as("the adapter changes the logits").isGreaterThan(1e-3);
    peft.merge();
    assertThat(maxAbsDiff(logits(peft.causalLm(), ids), unmerged)).as("merged")
        .isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(unmerged)));
    peft.unmerge();
    assertThat(maxAbsDiff(w.value().toFloatArray(), before)).as(weight + " unmerged").isLessThanOrEqualTo(1e-6);
  }

  public static double maxAbsDiff(float[] a, float[] b) {
    assertThat(a).hasSameSizeAs(b);
    double d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return d;
  }

  public static double maxAbs(float[] values) {
    double m = 0;
    for (float v : values) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }
}
