package dev.peft4j.nn;

import dev.peft4j.tensor.Tensor;

/**
 * A learned change at the attention K/V hook site of one layer ({@link KvSite}) — the "attention
 * keys/values" site of the unified view (He et al. 2022). It can do either or both of:
 *
 * <ul>
 *   <li>contribute extra keys and values that join the layer's own in one softmax
 *       ({@code softmax(q [Pₖ; K]ᵀ) [Pᵥ; V]}, prefix tuning); every layer of a model must then
 *       carry the same number of prefix positions, which count as positions before the first token;
 *   <li>add a separately softmaxed, gated attention over its own keys/values to the attention
 *       output, before the output projection (LLaMA-Adapter's adaption prompts).
 * </ul>
 *
 * The model code knows no delta by name.
 */
public interface KvDelta {

  /** Whether the delta contributes now (false while its adapter is disabled). */
  boolean active();

  /** Number of prefix key/value positions {@link #prefix} returns; 0 if it adds none. */
  default long prefixLength() {
    return 0;
  }

  /**
   * Which rows of a batch of {@code batch} rows use the prefix: bool [B], or null for all.
   * Rows that do not use it attend to none of its positions and are not shifted by it.
   */
  default Tensor rows(long batch) {
    return null;
  }

  /**
   * The prefix keys and values of this layer, each [B or 1, Hkv, P, D] (unrotated), or null if
   * {@link #prefixLength()} is 0.
   */
  default Tensor[] prefix(KvSite site, long batch) {
    return null;
  }

  /**
   * A separately softmaxed attention to add to the attention output, or null.
   *
   * @param queries the layer's queries [B, H, T, D] (rotated, as used for the ordinary keys)
   * @param scale the layer's softmax scale
   * @return [B, H, T, D]
   */
  default Tensor separateAttention(KvSite site, Tensor queries, double scale) {
    return null;
  }
}
