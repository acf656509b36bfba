package dev.peft4j.nn;

import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A linear map with a weight and an optional bias — {@link Linear} ([out, in] storage), GPT-2's
 * {@link Conv1D} ([in, out] storage), or an {@link Embedding}, the linear map of one-hot token ids
 * ([in = vocabulary, out = dim] storage, its input given as the ids) — whose output is a hook site:
 * attached {@link OutputDelta}s change it (and may rescale its input). Merging methods change {@link #weight()} in place
 * in its own storage layout ({@link #weightTransposed()}).
 */
public abstract sealed class Projection extends Module permits Linear, Conv1D, Embedding {
  private final long inFeatures;
  private final long outFeatures;
  private final List<OutputDelta> deltas = new ArrayList<>();

  Projection(long inFeatures, long outFeatures) {
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
  }

  public final long inFeatures() {
    return inFeatures;
  }

  public final long outFeatures() {
    return outFeatures;
  }

  /** The weight: [out, in] for a Linear, [in, out] for a Conv1D. */
  public abstract Parameter weight();

  /** The bias [out], or null. */
  public abstract Parameter bias();

  /** True when {@link #weight()} is stored [in, out] (Hugging Face's {@code fan_in_fan_out}). */
  public abstract boolean weightTransposed();

  /** {@code x W^T + b} without any delta. */
  protected abstract Tensor baseForward(Tensor x);

  /** Whether the input is token ids (an {@link Embedding}) rather than [..., in] features. */
  public boolean takesIds() {
    return false;
  }

  /**
   * The input through another matrix {@code m} [k, in] the way this layer maps its input: {@code x mᵀ}
   * for features; for ids, the columns of {@code m} the ids pick (the product with their one-hot rows).
   *
   * @return [..., k]
   */
  public Tensor mapInput(Tensor x, Tensor m) {
    return Functional.linear(x, m, null);
  }

  /**
   * @param x [..., in] (token ids [...] for an Embedding)
   * @return [..., out]: the base map of the input as the active deltas rescale it, then each active
   *     delta's change to the output
   */
  public final Tensor forward(Tensor x) {
    Tensor in = x;
    for (OutputDelta d : deltas) {
      if (d.active()) {
        in = d.rescaleInput(in);
      }
    }
    Tensor y = baseForward(in);
    for (OutputDelta d : deltas) {
      if (d.active()) {
        y = d.applyTo(y, x);
      }
    }
    return y;
  }

  /**
   * The base map alone, ignoring every delta: the frozen projection, for methods that reuse a
   * layer's own weights on their parameters (LLaMA-Adapter's prompt keys and values).
   */
  public final Tensor forwardWithoutDeltas(Tensor x) {
    return baseForward(x);
  }

  /** Registers {@code delta} as child module {@code name} and adds it to the output. */
  public final <D extends Module & OutputDelta> D attachDelta(String name, D delta) {
    child(name, delta);
    deltas.add(delta);
    return delta;
  }

  /** Removes the delta registered as {@code name}; returns it, or null if there is none. */
  public final Module detachDelta(String name) {
    Module removed = removeChild(name);
    if (removed != null) {
      deltas.remove(removed);
    }
    return removed;
  }

  /** The attached deltas in attachment order. */
  public final List<OutputDelta> deltas() {
    return Collections.unmodifiableList(deltas);
  }
}
