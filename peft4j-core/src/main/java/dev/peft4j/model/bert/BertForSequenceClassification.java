package dev.peft4j.model.bert;

import dev.peft4j.model.Encoder;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.Stages;
import dev.peft4j.nn.Linear;
import dev.peft4j.tensor.Tensor;
import java.util.Optional;

/**
 * BERT with a linear classifier on the pooled [CLS] state: Hugging Face's
 * {@code BertForSequenceClassification} (dropout is a training-time no-op here).
 */
public final class BertForSequenceClassification extends PretrainedModel implements Encoder {
  private final BertModel bert;
  private final Linear classifier;

  public BertForSequenceClassification(BertConfig config) {
    bert = child("bert", new BertModel(config, true));
    classifier = child("classifier", new Linear(config.hiddenSize(), config.numLabels(), true));
  }

  public BertModel bert() {
    return bert;
  }

  @Override
  public EncoderOutput encode(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
    return bert.encode(inputIds, tokenTypeIds, attentionMask);
  }

  @Override
  public Stages<EncoderOutput> stages(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
    return bert.stages(inputIds, tokenTypeIds, attentionMask);
  }

  @Override
  public int hiddenSize() {
    return bert.hiddenSize();
  }

  /** Class logits [B, numLabels]. */
  public Tensor classify(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
    return classifier.forward(encode(inputIds, tokenTypeIds, attentionMask).pooled());
  }

  @Override
  public String architecture() {
    return "BertForSequenceClassification";
  }

  @Override
  public String modelType() {
    return "bert";
  }

  @Override
  public Optional<String> parameterPath(String checkpointName) {
    return BertNames.normalise(checkpointName, "bert.");
  }
}
