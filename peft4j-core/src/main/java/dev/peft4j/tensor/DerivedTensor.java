package dev.peft4j.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A tensor derived from others outside the graph, kept while they are the same tensors at the same
 * versions (an in-place change bumps a tensor's version; a replaced parameter is another tensor).
 * For values inference would otherwise form again at every token: DoRA's norms, LoHa's ΔW,
 * Gemma's 1 + w.
 */
public final class DerivedTensor {
  private Tensor value;
  private List<Object> of = List.of();

  /**
   * The value {@code derive} gives for {@code from}, formed again only when one of them changed.
   * It outlives the caller's {@link Scope}.
   */
  public Tensor get(Supplier<Tensor> derive, Tensor... from) {
    List<Object> key = new ArrayList<>(2 * from.length);
    for (Tensor t : from) {
      key.add(t);
      key.add(t.version());
    }
    if (!key.equals(of)) {
      if (value != null) {
        value.close();
      }
      try (Engine.GradGuard g = Engine.noGrad()) {
        value = derive.get().retain();
      }
      of = key;
    }
    return value;
  }
}
