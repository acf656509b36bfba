package dev.peft4j.serve;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Samples one request's tokens on the Java side with the request's own random generator, so a
 * request's {@code seed} reproduces its output whatever else shares the batch (libtorch's
 * generator is process-wide). Hugging Face's order: temperature, then top-p, then a draw from
 * the softmax.
 */
final class Sampler {
  private final double temperature;
  private final double topP;
  private final SplittableRandom random;

  /**
   * @param temperature {@code > 0}
   * @param topP in [0, 1]; 1 = off; the most likely token is always kept
   */
  Sampler(double temperature, double topP, SplittableRandom random) {
    this.temperature = temperature;
    this.topP = topP;
    this.random = random;
  }

  /** The next token given the last position's logits [V]. */
  long sample(float[] logits) {
    double max = Double.NEGATIVE_INFINITY;
    for (float l : logits) {
      max = Math.max(max, l);
    }
    double[] p = new double[logits.length];
    double sum = 0;
    for (int i = 0; i < p.length; i++) {
      p[i] = Math.exp((logits[i] - max) / temperature);
      sum += p[i];
    }
    double cutoff = topP < 1 ? nucleusCutoff(p, sum) : 0;
    double kept = 0;
    for (int i = 0; i < p.length; i++) {
      if (p[i] < cutoff) {
        p[i] = 0;
      }
      kept += p[i];
    }
    double u = random.nextDouble() * kept;
    int last = 0;
    for (int i = 0; i < p.length; i++) {
      if (p[i] > 0) {
        last = i;
        u -= p[i];
        if (u < 0) {
          return i;
        }
      }
    }
    return last; // rounding left a sliver of u
  }

  /**
   * The smallest probability kept by nucleus filtering: the likeliest tokens are kept until
   * their mass reaches {@code topP} (ties with the last one kept too).
   */
  private double nucleusCutoff(double[] p, double sum) {
    double[] sorted = p.clone();
    Arrays.sort(sorted);
    double mass = 0;
    for (int i = sorted.length - 1; i >= 0; i--) {
      mass += sorted[i] / sum;
      if (mass >= topP) {
        return sorted[i];
      }
    }
    return 0;
  }
}
