package dev.peft4j.nn;

import dev.peft4j.tensor.Tensor;

/**
 * A learned change to a sublayer's output — the "sublayer output" hook site of the unified view
 * (He et al. 2022): the attention or feed-forward block's output {@code h} before the residual
 * connection. A sequential method reads {@code h} ({@code h + f(h)}, Houlsby et al. 2019); a
 * parallel one reads the sublayer's input {@code x} ({@code h + s·f(x)}). The model code knows
 * none by name.
 */
public interface SublayerDelta {

  /**
   * The new sublayer output.
   *
   * @param sublayerInput the sublayer's input x [B, T, d_in] (pre-norm blocks: the normalised x)
   * @param sublayerOutput the output so far [B, T, d]: the sublayer's, after earlier deltas
   * @return [B, T, d]
   */
  Tensor apply(Tensor sublayerInput, Tensor sublayerOutput);

  /** Whether the delta contributes now (false while adapters are disabled). */
  boolean active();
}
