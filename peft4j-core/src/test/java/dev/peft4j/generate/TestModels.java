package dev.peft4j.generate;

import dev.peft4j.testing.TinyCheckpoint;

/** Tiny checkpoints for generation tests (public for the CLI tests). */
public final class TestModels {
  private TestModels() {}

  /**
   * Scales {@code checkpoint}'s matrices by 10 (before it is written): the default init (std 0.02)
   * gives near-uniform logits whose greedy output soon repeats one token, which would make
   * comparisons of generated sequences weak.
   */
  public static TinyCheckpoint lively(TinyCheckpoint checkpoint) {
    checkpoint.shapes().forEach((name, shape) -> {
      if (shape.length == 2 && !name.contains("wpe")) {
        float[] w = checkpoint.weights().get(name);
        for (int i = 0; i < w.length; i++) {
          w[i] *= 10;
        }
      }
    });
    return checkpoint;
  }
}
