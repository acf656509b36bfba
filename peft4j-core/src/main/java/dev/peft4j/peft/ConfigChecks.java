package dev.peft4j.peft;

import java.util.List;

/** The value checks PEFT's configs share, each failing with an {@link IllegalArgumentException} naming the key. */
public final class ConfigChecks {
  private ConfigChecks() {}

  /** A rank {@code r} > 0. */
  public static void positiveRank(int r) {
    if (r <= 0) {
      throw new IllegalArgumentException("r must be positive, got " + r);
    }
  }

  /** A dropout probability in [0, 1). */
  public static void probability(String key, double p) {
    if (!(p >= 0 && p < 1)) {
      throw new IllegalArgumentException(key + " must be in [0, 1), got " + p);
    }
  }

  /** {@code layers_pattern} only with {@code layers_to_transform}. */
  public static void layersPatternNeedsLayers(List<String> layersPattern, List<Integer> layersToTransform) {
    if (layersPattern != null && layersToTransform == null) {
      throw new IllegalArgumentException("layers_pattern is only used with layers_to_transform");
    }
  }
}
