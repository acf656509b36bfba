package dev.peft4j.model;

import dev.peft4j.io.HfConfig;
import dev.peft4j.nn.Linear;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A new classification head on an encoder: pooled hidden state → {@code classifier} Linear →
 * class logits. For encoders exported without a pooler (e.g. sentence-transformers' MiniLM),
 * mean pooling or the first token's state replaces BERT's pooler. The head is initialised as
 * Hugging Face initialises heads, N(0, 0.02²) weights and zero bias, from libtorch's seeded
 * generator.
 */
public final class SequenceClassifier extends PretrainedModel {
  /** How a sequence of hidden states becomes one vector. */
  public enum Pooling {
    /** Mean over real (unpadded) positions. */
    MEAN,
    /** The first token's state ([CLS]). */
    CLS,
    /** The encoder's own pooler output. */
    POOLER
  }

  private final PretrainedModel encoderModel;
  private final Encoder encoder;
  private final String encoderName;
  private final Linear classifier;
  private final Pooling pooling;
  private final List<String> labels;

  /**
   * @param encoder the base encoder (e.g. a {@code BertModel}), registered under
   *     {@code encoderName} (Hugging Face's prefix, {@code "bert"}); or a classifier, whose encoder
   *     gets this head in place of its own (the classifier's config stays the source)
   * @param labels class names; the head has one output per label
   */
  public SequenceClassifier(PretrainedModel encoder, String encoderName, List<String> labels, Pooling pooling) {
    HfConfig sourceConfig = encoder.hfConfig();
    String source = encoder.sourceName();
    if (encoder instanceof SequenceClassifier classifier) {
      encoder = classifier.encoderModel;
    }
    if (!(encoder instanceof Encoder)) {
      throw new IllegalArgumentException(encoder.architecture() + " is not an encoder");
    }
    if (labels.size() < 2) {
      throw new IllegalArgumentException("a classifier needs at least 2 labels, got " + labels);
    }
    this.encoderModel = child(encoderName, encoder);
    this.encoder = (Encoder) encoder;
    this.encoderName = encoderName;
    this.pooling = pooling;
    this.labels = List.copyOf(labels);
    long hidden = this.encoder.hiddenSize();
    this.classifier = child("classifier", new Linear(hidden, labels.size(), true));
    try (Engine.GradGuard g = Engine.noGrad()) {
      // the encoder's dtype; f32 for an encoder whose weights are loaded afterwards, with the head's
      dev.peft4j.nn.Parameter first = encoder.namedParameters().values().iterator().next();
      DType dtype = first.isSet() ? first.value().dtype() : DType.F32;
      classifier.weight().set(Tensor.zeros(DType.F32, labels.size(), hidden).normal_(0, 0.02).to(dtype));
      classifier.bias().set(Tensor.zeros(dtype, labels.size()));
    }
    setSource(sourceConfig, source);
  }

  public List<String> labels() {
    return labels;
  }

  public PretrainedModel encoder() {
    return encoderModel;
  }

  /** Class logits [B, labels]. */
  public Tensor classify(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
    return logits(encoder.encode(inputIds, tokenTypeIds, attentionMask), inputIds, attentionMask);
  }

  /**
   * {@link #classify} cut into {@link Stages} (gradient checkpointing).
   *
   * @throws UnsupportedOperationException if the encoder cannot be run in stages
   */
  public Stages<Tensor> classifyStages(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
    return encoder.stages(inputIds, tokenTypeIds, attentionMask)
        .andThen(out -> logits(out, inputIds, attentionMask));
  }

  private Tensor logits(Encoder.EncoderOutput out, Tensor inputIds, Tensor attentionMask) {
    return classifier.forward(pool(out, inputIds, attentionMask));
  }

  private Tensor pool(Encoder.EncoderOutput out, Tensor inputIds, Tensor attentionMask) {
    Tensor h = out.lastHiddenState(); // [B, T, H]
    switch (pooling) {
      case CLS:
        return h.select(1, 0);
      case POOLER:
        if (out.pooled() == null) {
          throw new IllegalStateException(encoderModel.architecture() + " has no pooler; use MEAN or CLS pooling");
        }
        return out.pooled();
      case MEAN:
      default:
        Tensor mask = (attentionMask == null ? Tensor.ones(DType.I64, inputIds.shape()) : attentionMask)
            .to(h.dtype()).unsqueeze(-1);                              // [B, T, 1]
        return h.mul(mask).sum(1, false).div(mask.sum(1, false).clampMin(1e-9)); // [B, H]
    }
  }

  /**
   * The source config with this head's labels as transformers keeps them ({@code id2label},
   * {@code label2id}, {@code num_labels}), which a head over a transformers classifier may have changed.
   */
  @Override
  public HfConfig savedConfig() {
    HfConfig config = super.savedConfig();
    if (config == null) {
      return null;
    }
    Map<String, Object> id2label = new LinkedHashMap<>();
    Map<String, Object> label2id = new LinkedHashMap<>();
    for (int id = 0; id < labels.size(); id++) {
      id2label.put(String.valueOf(id), labels.get(id));
      label2id.put(labels.get(id), id);
    }
    return config.with(Map.of("id2label", id2label, "label2id", label2id, "num_labels", labels.size()));
  }

  @Override
  public String architecture() {
    return encoderModel.architecture() + "+SequenceClassifier(" + pooling.name().toLowerCase() + ")";
  }

  @Override
  public String modelType() {
    return encoderModel.modelType();
  }

  @Override
  public Optional<String> parameterPath(String checkpointName) {
    if (checkpointName.startsWith("classifier.")) {
      return Optional.of(checkpointName);
    }
    return encoderModel.parameterPath(checkpointName).map(p -> encoderName + "." + p);
  }
}
