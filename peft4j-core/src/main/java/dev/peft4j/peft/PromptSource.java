package dev.peft4j.peft;

import dev.peft4j.nn.Module;
import dev.peft4j.tensor.Tensor;

/**
 * What computes a prompt-learning adapter's virtual embeddings: a trainable table, possibly
 * behind a reparameterisation (prefix tuning's MLP, P-tuning's encoder) that folds away into the
 * table it computes.
 */
public abstract class PromptSource extends Module {

  /** The whole table as computed now: what PEFT saves as {@code prompt_embeddings}. */
  public abstract Tensor table();

  /** Whether the table is computed through a reparameterisation (false once plain or folded). */
  public abstract boolean reparameterised();

  /** Replaces the reparameterisation, if any, and the table by the plain {@code table}. */
  public abstract void fold(Tensor table);
}
