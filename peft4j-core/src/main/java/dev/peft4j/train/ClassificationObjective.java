package dev.peft4j.train;

import dev.peft4j.data.Batch;
import dev.peft4j.model.SequenceClassifier;
import dev.peft4j.model.Stages;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;
import java.util.Map;
import java.util.function.Consumer;

/** Sequence classification: cross-entropy of the class logits against class ids; accuracy in evaluation. */
public final class ClassificationObjective implements TrainingObjective<Batch> {
  private final SequenceClassifier model;
  private final Map<String, Parameter> parameters;
  private final Consumer<Boolean> trainingMode;

  /** Trains {@code peft}'s adapter and head; its base model must be a {@link SequenceClassifier}. */
  public ClassificationObjective(PeftModel peft) {
    this(classifier(peft), peft.trainableParameters(), peft::setTraining);
  }

  private ClassificationObjective(SequenceClassifier model, Map<String, Parameter> parameters,
      Consumer<Boolean> trainingMode) {
    this.model = model;
    this.parameters = parameters;
    this.trainingMode = trainingMode;
  }

  /**
   * Full fine-tuning: trains every weight of {@code model}, encoder and head, with no adapter
   * ({@link dev.peft4j.nn.Module#unfreeze}). BERT's dropout is a no-op here, so there is no
   * training mode to switch.
   */
  public static ClassificationObjective allWeights(SequenceClassifier model) {
    return new ClassificationObjective(model, model.unfreeze(), training -> {});
  }

  /** Scores {@code model} as it is, for evaluation only. */
  public static ClassificationObjective forEvaluation(SequenceClassifier model) {
    return new ClassificationObjective(model, Map.of(), training -> {});
  }

  private static SequenceClassifier classifier(PeftModel peft) {
    if (!(peft.baseModel() instanceof SequenceClassifier)) {
      throw new IllegalArgumentException(peft.baseModel().architecture() + " is not a SequenceClassifier");
    }
    return (SequenceClassifier) peft.baseModel();
  }

  @Override
  public Map<String, Parameter> trainableParameters() {
    return parameters;
  }

  @Override
  public Tensor loss(Batch batch) {
    trainingMode.accept(true);
    return Functional.crossEntropy(logits(batch), batch.labels());
  }

  /** The loss as {@link Stages} of the encoder (gradient checkpointing). */
  @Override
  public Stages<Tensor> lossStages(Batch batch) {
    trainingMode.accept(true);
    return model.classifyStages(batch.inputIds(), null, batch.attentionMask())
        .andThen(logits -> Functional.crossEntropy(logits, batch.labels()));
  }

  @Override
  public EvalStats evaluate(Batch batch) {
    trainingMode.accept(false);
    Tensor logits = logits(batch);
    long n = batch.labels().size(0);
    double lossSum = Functional.crossEntropy(logits, batch.labels()).item() * n;
    long correct = (long) logits.argmax(1).eq(batch.labels()).sum().item();
    return EvalStats.of(lossSum, n, correct);
  }

  @Override
  public long tokens(Batch batch) {
    return batch.realTokens();
  }

  private Tensor logits(Batch batch) {
    return model.classify(batch.inputIds(), null, batch.attentionMask());
  }
}
