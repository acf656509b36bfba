package dev.peft4j.nn;

/**
 * Inverse frequencies of rotary embeddings, with the context-extension schemes of Hugging
 * Face's {@code modeling_rope_utils}: none ("default"), "linear" and "llama3".
 */
public sealed interface RopeScaling {

  /** Unscaled θ_i = base^(-2i/d) (RoFormer eq. 15). */
  record None() implements RopeScaling {}

  /** Position interpolation: θ_i / factor (Chen et al. 2023). */
  record Linear(double factor) implements RopeScaling {}

  /**
   * Llama 3.1's frequency-dependent scaling: long wavelengths are divided by {@code factor},
   * short ones kept, and the band between smoothly interpolated.
   */
  record Llama3(double factor, double lowFreqFactor, double highFreqFactor, long originalMaxPositions)
      implements RopeScaling {}

  /** θ_i for i in [0, headDim/2), after this scaling. */
  default double[] inverseFrequencies(double base, int headDim) {
    double[] inv = new double[headDim / 2];
    for (int i = 0; i < inv.length; i++) {
      // HF: 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)), in float32
      inv[i] = (float) (1.0 / Math.pow(base, (float) (2 * i) / headDim));
    }
    if (this instanceof Linear) {
      Linear linear = (Linear) this;
      for (int i = 0; i < inv.length; i++) {
        inv[i] /= linear.factor();
      }
    } else if (this instanceof Llama3) {
      Llama3 l = (Llama3) this;
      double lowFreqWavelen = l.originalMaxPositions() / l.lowFreqFactor();
      double highFreqWavelen = l.originalMaxPositions() / l.highFreqFactor();
      for (int i = 0; i < inv.length; i++) {
        double wavelen = 2 * Math.PI / inv[i];
        if (wavelen > lowFreqWavelen) {
          inv[i] = inv[i] / l.factor();
        } else if (wavelen >= highFreqWavelen) {
          double smooth = (l.originalMaxPositions() / wavelen - l.lowFreqFactor())
              / (l.highFreqFactor() - l.lowFreqFactor());
          inv[i] = (1 - smooth) * inv[i] / l.factor() + smooth * inv[i];
        }
      }
    }
    return inv;
  }
}
