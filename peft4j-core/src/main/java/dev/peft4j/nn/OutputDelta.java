package dev.peft4j.nn;

import dev.peft4j.tensor.Tensor;

/**
 * A learned change added to a {@link Projection}'s output — the "Linear output" hook site of the
 * unified view (He et al. 2022): {@code y = W x + b + Δ(x)}. LoRA is one; the model code knows
 * none by name.
 */
public interface OutputDelta {

  /**
   * The change to add, computed from the projection's input.
   *
   * @param input [..., in]
   * @return [..., out]
   */
  Tensor apply(Tensor input);

  /**
   * {@code output + apply(input)}; a delta may override this to fuse the addition with its own
   * work. {@code output} is the projection's own fresh result, so the addition may happen in place.
   *
   * @param output [..., out] the projection's output so far
   * @param input [..., in]
   */
  default Tensor addTo(Tensor output, Tensor input) {
    return output.add(apply(input));
  }

  /** Whether the delta contributes now (false while disabled or merged into the weight). */
  boolean active();
}
