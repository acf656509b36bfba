package dev.peft4j.train;

import dev.peft4j.data.Batch;
import dev.peft4j.model.CausalLm;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;
import java.util.Map;

/**
 * Next-token prediction: the logits at position t are scored against the label at t + 1
 * (Hugging Face's shift inside {@code *ForCausalLM}); labels of -100 (prompt, padding) are not
 * scored.
 */
public final class CausalLmObjective implements TrainingObjective<Batch> {
  private static final long IGNORE = -100;

  private final PeftModel peft;
  private final CausalLm model;
  private final Map<String, Parameter> parameters;

  public CausalLmObjective(PeftModel peft) {
    this.peft = peft;
    this.model = peft.causalLm();
    this.parameters = peft.trainableParameters();
  }

  @Override
  public Map<String, Parameter> trainableParameters() {
    return parameters;
  }

  @Override
  public Tensor loss(Batch batch) {
    peft.setTraining(true);
    return shiftedLoss(batch);
  }

  @Override
  public EvalStats evaluate(Batch batch) {
    peft.setTraining(false);
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
