package dev.peft4j.train;

import dev.peft4j.data.Batch;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.Stages;
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
  private static final long IGNORE = ChunkedCrossEntropy.IGNORE;

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

  /**
   * The loss of {@link #loss}, back-propagated from the model's final hidden states by a
   * {@link ChunkedCrossEntropy}, so that the logits of the whole batch never exist; with
   * {@code checkpointing}, through the model's {@link Stages}.
   */
  @Override
  public double backward(Batch batch, int divisor, boolean checkpointing) {
    trainingMode.accept(true);
    Stages<Tensor> stages = model.stages(batch.inputIds(), batch.attentionMask());
    ChunkedCrossEntropy loss = chunkedLoss(batch);
    return checkpointing ? GradientCheckpointing.backward(stages, loss, divisor) : loss.backward(stages.run(), divisor);
  }

  /** The summed loss of the scored positions, from the hidden states a chunk at a time as in training. */
  @Override
  public EvalStats evaluate(Batch batch) {
    trainingMode.accept(false);
    return chunkedLoss(batch).sum(model.stages(batch.inputIds(), batch.attentionMask()).run());
  }

  private ChunkedCrossEntropy chunkedLoss(Batch batch) {
    return new ChunkedCrossEntropy(model::logits, shiftedTargets(batch.labels()).reshape(-1),
        ChunkedCrossEntropy.chunkPositions(model.vocabSize()));
  }

  @Override
  public long tokens(Batch batch) {
    return batch.realTokens();
  }

  private Tensor shiftedLoss(Batch batch) {
    return shiftedLoss(model.forward(batch.inputIds(), batch.attentionMask(), null), batch.labels());
  }

  /**
   * Mean cross-entropy of logits[:, t] against labels[:, t + 1] over the scored positions. The
   * labels are shifted, not the logits: labels[:, 1:] padded with one ignored position at the end
   * scores every logit row but the last, in place ({@code [B·T, V]} is a view of the logits, where
   * slicing them would copy {@code [B·(T-1), V]}).
   *
   * @param logits [B, T, V]
   * @param labels int64 [B, T]
   */
  static Tensor shiftedLoss(Tensor logits, Tensor labels) {
    return Functional.crossEntropy(logits.reshape(-1, logits.size(2)), shiftedTargets(labels).reshape(-1));
  }

  /** The target of each position: labels[:, 1:] and one ignored position at the end, [B, T]. */
  private static Tensor shiftedTargets(Tensor labels) {
    return Tensor.cat(1, labels.narrow(1, 1, labels.size(1) - 1), Tensor.full(labels.dtype(), IGNORE, labels.size(0), 1));
  }
}
