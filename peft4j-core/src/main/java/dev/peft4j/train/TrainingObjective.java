package dev.peft4j.train;

import dev.peft4j.model.Stages;
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
   * The training loss of {@code batch} cut into {@link Stages} (embedding, each layer, then head
   * and loss; the head returns what {@link #loss} returns), for gradient checkpointing.
   *
   * @throws UnsupportedOperationException if the objective's model cannot be run in stages (the
   *     default)
   */
  default Stages<Tensor> lossStages(B batch) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " does not support gradient checkpointing");
  }

  /**
   * Back-propagates {@code loss(batch) / divisor} into the trainable parameters' gradients and
   * returns the loss (not divided); when it is not finite, what was back-propagated is
   * unspecified (the trainer zeroes the gradients and stops). With {@code checkpointing}, through
   * {@link #lossStages} segment by segment (see {@link Trainer.Builder#gradientCheckpointing}):
   * the same loss and gradients, the layers' activations recomputed instead of kept. Called inside
   * the step's {@code Scope}. An objective that must hold some state around the whole forward
   * and backward pass, or computes its loss in parts, overrides this.
   *
   * @throws UnsupportedOperationException if {@code checkpointing} and {@link #lossStages} is not
   *     supported
   */
  default double backward(B batch, int divisor, boolean checkpointing) {
    return checkpointing
        ? GradientCheckpointing.backward(lossStages(batch), LossBackward::scalar, divisor)
        : LossBackward.scalar(loss(batch), divisor);
  }

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
