package dev.peft4j.train;

import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.Tensor;
import java.util.Map;

/**
 * What is trained and how it is scored: the glue between a model (with its PEFT modules) and
 * the {@link Trainer}, which knows no model or method by name.
 *
 * @param <B> the batch type of the {@link BatchSource}s it is trained and evaluated on
 */
public interface TrainingObjective<B> {

  /**
   * The parameters to train, by name (the names key checkpoints and choose the weight-decay
   * group, see {@link AdamW#isNoDecay}). Parameters that are not {@link Parameter#trainable()}
   * are ignored: they never enter the optimizer nor a checkpoint. The map and its order must
   * be the same on every call.
   */
  Map<String, Parameter> trainableParameters();

  /**
   * The mean training loss of {@code batch} as a scalar with its autograd graph attached (the
   * trainer calls {@code backward} on it). Called inside the step's {@code Scope}.
   */
  Tensor loss(B batch);

  /**
   * Evaluation statistics of {@code batch}: summed loss, the number of items it is summed
   * over and, for classification, the number correct. Called with gradients disabled, inside
   * a {@code Scope}.
   */
  EvalStats evaluate(B batch);

  /**
   * Number of tokens (or items) in {@code batch}, for the tokens-per-second figure; 0 (the
   * default) if unknown.
   */
  default long tokens(B batch) {
    return 0;
  }
}
