package dev.peft4j.nn;

import dev.peft4j.tensor.Tensor;

/**
 * A learned change at a {@link Projection}'s hook sites. Most methods add it to the output — the
 * "Linear output" site of the unified view (He et al. 2022): {@code y = W x + b + Δ(x)}, as LoRA
 * does; a rescaling method multiplies the output or the input instead ((IA)³). The model code
 * knows none by name.
 */
public interface OutputDelta {

  /**
   * The projection's output with this change made: {@code output + Δ(input)} for an additive
   * method. {@code output} is the projection's own fresh result, so the change may happen in place.
   *
   * @param output [..., out] the projection's output so far
   * @param input [..., in] the projection's input, as given to it
   */
  Tensor applyTo(Tensor output, Tensor input);

  /**
   * The input the base map sees: {@code input} itself unless the delta rescales it ((IA)³ on
   * feed-forward layers). Deltas see the input as given ({@link #applyTo}).
   *
   * @param input [..., in]
   */
  default Tensor rescaleInput(Tensor input) {
    return input;
  }

  /** Whether the delta contributes now (false while disabled or merged into the weight). */
  boolean active();
}
