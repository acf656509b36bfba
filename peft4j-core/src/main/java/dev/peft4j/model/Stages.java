package dev.peft4j.model;

import dev.peft4j.tensor.Tensor;
import java.util.function.Function;

/**
 * One forward pass cut at its layer boundaries: {@code embed → layer 0 → … → layer L-1 → head}.
 * A model's own forward runs it straight through ({@link #run}); gradient checkpointing
 * ({@code train.Trainer.Builder#gradientCheckpointing}) runs the stages one at a time, keeping
 * only each layer's input, and recomputes a layer when its gradient is needed.
 *
 * <p>An instance belongs to one pass over one batch: {@link #embed} sets up the pass (attention
 * mask, positions, virtual positions), and {@link #layer} and {@link #head} use what it set up.
 * Every stage may run more than once (recomputation) and then computes the same values, given the
 * same generator state.
 *
 * @param <O> what the head returns (logits, an encoder output, a loss)
 */
public interface Stages<O> {

  /** The embedding stage: the first layer's input [B, T', hidden] (T' counts virtual tokens). Runs first. */
  Tensor embed();

  /** The number of layers L. */
  int layers();

  /** Layer {@code i} (0-based) on its input [B, T', hidden]: its output, the next layer's input. */
  Tensor layer(int i, Tensor hidden);

  /** The head on the last layer's output [B, T', hidden]. */
  O head(Tensor hidden);

  /** The whole pass: {@code head(layer_{L-1}(… layer_0(embed())))}. */
  default O run() {
    Tensor h = embed();
    for (int i = 0; i < layers(); i++) {
      h = layer(i, h);
    }
    return head(h);
  }

  /** These stages with {@code then} applied to the head's output (e.g. a classifier, a loss). */
  default <R> Stages<R> andThen(Function<? super O, ? extends R> then) {
    Stages<O> first = this;
    return new Stages<>() {
      @Override
      public Tensor embed() {
        return first.embed();
      }

      @Override
      public int layers() {
        return first.layers();
      }

      @Override
      public Tensor layer(int i, Tensor hidden) {
        return first.layer(i, hidden);
      }

      @Override
      public R head(Tensor hidden) {
        return then.apply(first.head(hidden));
      }
    };
  }
}
