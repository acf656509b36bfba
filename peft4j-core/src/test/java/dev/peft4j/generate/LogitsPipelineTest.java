package dev.peft4j.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Each filter on hand-made logits against its closed form. */
class LogitsPipelineTest {
  private static final float NEG_INF = Float.NEGATIVE_INFINITY;

  @Test
  void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfPresentTokens() {
    try (Scope s = Scope.open()) {
      Tensor logits = Tensor.of(new float[] {2, -2, 1, 0, 3, -1, -4, 5}, 2, 4);
      Tensor present = Tensor.of(new float[] {1, 1, 0, 1, 0, 1, 1, 0}, 2, 4).ne(0);
      assertThat(LogitsPipeline.repetitionPenalty(logits, present, 2.0).toFloatArray())
          .containsExactly(1, -4, 1, 0, 3, -2, -8, 5);
      // a penalty below 1 encourages repetition the same way
      assertThat(LogitsPipeline.repetitionPenalty(logits, present, 0.5).toFloatArray())
          .containsExactly(4, -1, 1, 0, 3, -0.5f, -2, 5);
    }
  }

  @Test
  void temperatureDividesLogits() {
    try (Scope s = Scope.open()) {
      Tensor logits = Tensor.of(new float[] {1, -3, 0.5f}, 1, 3);
      assertThat(LogitsPipeline.temperature(logits, 0.5).toFloatArray()).containsExactly(2, -6, 1);
    }
  }

  @Test
  void topKKeepsTheKLargestAndTiesWithTheKth() {
    try (Scope s = Scope.open()) {
      Tensor logits = Tensor.of(new float[] {1, 3, 2, 3, 0, /* row 2 */ 5, 4, 3, 2, 1}, 2, 5);
      assertThat(LogitsPipeline.topK(logits, 2).toFloatArray()).containsExactly(
          NEG_INF, 3, NEG_INF, 3, NEG_INF, 5, 4, NEG_INF, NEG_INF, NEG_INF);
      assertThat(LogitsPipeline.topK(logits, 1).toFloatArray()).containsExactly(
          NEG_INF, 3, NEG_INF, 3, NEG_INF, 5, NEG_INF, NEG_INF, NEG_INF, NEG_INF);
      assertThat(LogitsPipeline.topK(logits, 3).toFloatArray()).containsExactly(
          NEG_INF, 3, 2, 3, NEG_INF, 5, 4, 3, NEG_INF, NEG_INF);
      assertThat(LogitsPipeline.topK(logits, 99).toFloatArray()).containsExactly(logits.toFloatArray());
    }
  }

  @Test
  void topPKeepsTheSmallestSetOfLikeliestTokensReachingP() {
    // probabilities 0.15, 0.5, 0.1, 0.25 (row 1) and 0.25, 0.1, 0.5, 0.15 (row 2)
    float[] p1 = {0.15f, 0.5f, 0.1f, 0.25f};
    float[] p2 = {0.25f, 0.1f, 0.5f, 0.15f};
    float[] logits = new float[8];
    for (int i = 0; i < 4; i++) {
      logits[i] = (float) Math.log(p1[i]);
      logits[4 + i] = (float) Math.log(p2[i]);
    }
    try (Scope s = Scope.open()) {
      Tensor t = Tensor.of(logits, 2, 4);
      // sorted descending: 0.5, 0.25 (sum 0.75), 0.15 (0.9), 0.1 (1.0)
      assertKept(LogitsPipeline.topP(t, 0.7), logits, 1, 3, 4, 6);        // 0.5 + 0.25 > 0.7
      assertKept(LogitsPipeline.topP(t, 0.4), logits, 1, 6);              // 0.5 > 0.4
      assertKept(LogitsPipeline.topP(t, 0.8), logits, 0, 1, 3, 4, 6, 7);  // 0.75 < 0.8 needs 0.15
      assertKept(LogitsPipeline.topP(t, 0.95), logits, 0, 1, 2, 3, 4, 5, 6, 7);
      // a tiny p still keeps the most likely token
      assertKept(LogitsPipeline.topP(t, 1e-9), logits, 1, 6);
    }
  }

  @Test
  void greedyIsTheArgmaxAfterThePenalty() {
    GenerationConfig greedy = GenerationConfig.builder().maxNewTokens(1).repetitionPenalty(4).build();
    try (Scope s = Scope.open()) {
      Tensor logits = Tensor.of(new float[] {1, 3, 2, /* row 2 */ -1, -2, -3}, 2, 3);
      Tensor present = Tensor.of(new float[] {0, 1, 0, 1, 0, 0}, 2, 3).ne(0);
      // row 1: 3/4 < 2 → token 2; row 2: -1*4 < -2 → token 1
      assertThat(new LogitsPipeline(greedy).choose(logits, present).toLongArray()).containsExactly(2, 1);
    }
  }

  @Test
  void samplesFollowTheSoftmaxOfTheFilteredTemperedLogits() {
    GenerationConfig config = GenerationConfig.builder().maxNewTokens(1).temperature(0.5).topK(3).topP(0.9).build();
    float[] row = {0.2f, 1.0f, -0.5f, 0.8f, 0.0f};
    // T=0.5 → 0.4, 2, -1, 1.6, 0; top-3 → {1: 2, 3: 1.6, 0: 0.4}; softmax over those:
    double[] weights = {Math.exp(0.4), Math.exp(2.0), 0, Math.exp(1.6), 0};
    double sum = weights[0] + weights[1] + weights[3];
    // p = 0.534, 0.358, 0.108: the least likely is removed only if 0.108 <= 1 - topP; at 0.9 all stay
    int n = 40_000;
    float[] logits = new float[n * row.length];
    for (int i = 0; i < n; i++) {
      System.arraycopy(row, 0, logits, i * row.length, row.length);
    }
    Engine.manualSeed(1);
    long[] draws;
    try (Scope s = Scope.open()) {
      draws = new LogitsPipeline(config).choose(Tensor.of(logits, n, row.length), null).toLongArray();
    }
    int[] counts = new int[row.length];
    for (long d : draws) {
      counts[(int) d]++;
    }
    for (int v = 0; v < row.length; v++) {
      assertThat(counts[v] / (double) n).as("frequency of token " + v).isCloseTo(weights[v] / sum, within(0.01));
    }
    // with top-p 0.85 the least likely (0.108 <= 0.15) is cut
    GenerationConfig tighter = config.toBuilder().topP(0.85).build();
    try (Scope s = Scope.open()) {
      draws = new LogitsPipeline(tighter).choose(Tensor.of(logits, n, row.length), null).toLongArray();
    }
    assertThat(draws).containsOnly(1, 3);
  }

  private static void assertKept(Tensor filtered, float[] logits, int... kept) {
    float[] expected = new float[logits.length];
    java.util.Arrays.fill(expected, NEG_INF);
    for (int k : kept) {
      expected[k] = logits[k];
    }
    assertThat(filtered.toFloatArray()).containsExactly(expected);
  }
}
