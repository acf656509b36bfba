package dev.peft4j.testing.reference;

import java.util.Map;

/**
 * A pure-Java forward pass of a Hugging Face architecture, independent of peft4j main code,
 * used as ground truth in tests. Implementations: {@link ReferenceLlama} (llama, mistral,
 * qwen2), {@link ReferenceGpt2} and {@link ReferenceBert}.
 */
public interface ReferenceModel {

  /**
   * Causal-LM logits [T][vocab] for one unpadded sequence at positions 0..T-1. Encoder-only
   * models throw {@link UnsupportedOperationException}.
   */
  float[][] logits(int[] ids);

  /** Picks the implementation from {@code model_type}. */
  static ReferenceModel of(Map<String, ?> config, Map<String, float[]> weights) {
    String type = new RefConfig(config).getString("model_type", "");
    switch (type) {
      case "llama":
      case "mistral":
      case "qwen2":
        return new ReferenceLlama(config, weights);
      case "gpt2":
        return new ReferenceGpt2(config, weights);
      case "bert":
        return new ReferenceBert(config, weights);
      default:
        throw new IllegalArgumentException("no reference implementation for model_type '" + type + "'");
    }
  }
}
