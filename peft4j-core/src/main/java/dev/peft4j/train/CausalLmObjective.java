package dev.peft4j.train;

import dev.peft4j.data.Batch;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Next-token prediction: the logits at position t are scored against the label at t + 1
 * (Hugging Face's shift inside {@code *ForCausalLM}); labels of -100 (prompt, padding) are not
 * scored.
 */
public final class CausalLmObjective implements TrainingObjective<Batch> {
  private static final long IGNORE = -100;

  private final CausalLm model;
  private final Map<String, Parameter> parameters;
  private final Consumer<Boolean> trainingMode;

  /** Trains {@code peft}'s adapter (dropout on in {@link #loss}, off in {@link #evaluate}). */
  public CausalLmObjective(PeftModel peft) {
    this(peft.causalLm(), peft.trainableParameters(), peft::setTraining);
  }

  private CausalLmObjective(CausalLm model, Map<String, Parameter> parameters, Consumer<Boolean> trainingMode) {
    this.model = model;
    this.parameters = parameters;
    this.trainingMode = trainingMode;
  }

  /**
   * Full fine-tuning: trains every weight of {@code model} with no adapter
   * ({@link dev.peft4j.nn.Module#unfreeze}); the base models have no dropout to switch.
   *
   * @throws IllegalArgumentException if {@code model} is not a causal LM
   */
  public static CausalLmObjective allWeights(PretrainedModel model) {
    if (!(model instanceof CausalLm)) {
      throw new IllegalArgumentException(model.architecture() + " is not a causal LM");
    }
    return new CausalLmObjective((CausalLm) model, model.unfreeze(), training -> {});
  }

  /** Scores {@code model} as it is, for evaluation only (nothing to train). */
  public static CausalLmObjective forEvaluation(CausalLm model) {
    return new CausalLmObjective(model, Map.of(), training -> {});
  }

  @Override
  public Map<String, Parameter> trainableParameters() {
    return parameters;
  }

  @Override
  public Tensor loss(Batch batch) {
    trainingMode.accept(true);
    return shiftedLoss(batch);
  }

  @Override
  public EvalStats evaluate(Batch batch) {
    trainingMode.accept(false);
    Tensor targets = batch.labels().narrow(1, 1, batch.labels().size(1) - 1);
    long count = (long) targets.ne(IGNORE).sum().item();
    return EvalStats.of(count == 0 ? 0 : shiftedLoss(batch).item() * count, count);
  }

  @Override
  public long tokens(Batch batch) {
    return batch.realTokens();
  }

  /** Mean cross-entropy of logits[:, :-1] against labels[:, 1:]. */
  private Tensor shiftedLoss(Batch batch) {
    Tensor logits = model.forward(batch.inputIds(), batch.attentionMask(), null); // [B, T, V]
    long t = logits.size(1);
    Tensor predictions = logits.narrow(1, 0, t - 1).reshape(-1, logits.size(2));
    Tensor targets = batch.labels().narrow(1, 1, t - 1).reshape(-1);
    return Functional.crossEntropy(predictions, targets);
  }
}
