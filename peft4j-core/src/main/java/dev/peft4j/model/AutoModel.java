package dev.peft4j.model;

import dev.peft4j.io.HfConfig;
import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.ModelWeights;
import dev.peft4j.model.bert.BertConfig;
import dev.peft4j.model.bert.BertModel;
import dev.peft4j.model.gpt2.Gpt2Config;
import dev.peft4j.model.gpt2.Gpt2LMHeadModel;
import dev.peft4j.model.llama.LlamaConfig;
import dev.peft4j.model.llama.LlamaForCausalLM;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/** Builds the right model for a Hugging Face directory from its {@code config.json} and loads its weights. */
public final class AutoModel {
  private static final String SUPPORTED = "llama, mistral, qwen2, qwen3, gemma3_text, gpt2, bert";

  private AutoModel() {}

  public static PretrainedModel load(Path modelDir) throws IOException {
    return load(modelDir, LoadOptions.defaults());
  }

  /**
   * @throws ModelFormatException for a missing/malformed config, an unknown model type, or
   *     weights that do not fit the config (the message names the file and tensor)
   */
  public static PretrainedModel load(Path modelDir, LoadOptions options) throws IOException {
    HfConfig config = HfConfig.read(modelDir);
    try (ModelWeights weights = ModelWeights.open(modelDir)) {
      PretrainedModel model = create(config, weights.names());
      WeightLoader.load(model, weights, options);
      model.setSource(config, modelDir.toString());
      return model;
    }
  }

  /**
   * Loads a classifier saved whole (full fine-tuning): the encoder of {@code config.json} with a
   * {@link SequenceClassifier} head over {@code labels}, all weights from the checkpoint —
   * {@code bert.*} (or unprefixed) encoder tensors and {@code classifier.weight/bias}, the names
   * {@link ModelWriter} gives a {@code SequenceClassifier}.
   *
   * @throws ModelFormatException as {@link #load}; also if the checkpoint lacks the head, or the
   *     head's shape does not fit {@code labels}
   */
  public static SequenceClassifier loadClassifier(Path modelDir, java.util.List<String> labels,
      SequenceClassifier.Pooling pooling, LoadOptions options) throws IOException {
    HfConfig config = HfConfig.read(modelDir);
    try (ModelWeights weights = ModelWeights.open(modelDir)) {
      PretrainedModel encoder = create(config, weights.names());
      encoder.setSource(config, modelDir.toString());
      SequenceClassifier model = new SequenceClassifier(encoder, "bert", labels, pooling);
      WeightLoader.load(model, weights, options);
      return model;
    }
  }

  /** Loads a decoder-only language model, or fails naming what the directory holds instead. */
  public static CausalLm loadCausalLm(Path modelDir, LoadOptions options) throws IOException {
    PretrainedModel model = load(modelDir, options);
    if (!(model instanceof CausalLm)) {
      throw new ModelFormatException(modelDir + " holds a " + model.architecture() + ", not a causal language model");
    }
    return (CausalLm) model;
  }

  /**
   * The module tree for {@code config}, with no weights loaded; {@code checkpointNames} decides
   * optional parts (BERT's pooler). For inspecting a model without reading its weights.
   */
  public static PretrainedModel create(HfConfig config, Set<String> checkpointNames) throws ModelFormatException {
    String type = config.modelType();
    switch (type) {
      case "llama":
      case "mistral":
      case "qwen2":
      case "qwen3":
      case "gemma3_text":
        return new LlamaForCausalLM(LlamaConfig.from(config));
      case "gpt2":
        return new Gpt2LMHeadModel(Gpt2Config.from(config));
      case "bert":
        BertConfig bert = BertConfig.from(config);
        if (config.architectures().contains("BertForSequenceClassification")) {
          // transformers' classifier: the pooler's output through the head, labels from id2label
          if (bert.labels().size() < 2) {
            throw new ModelFormatException(config.source() + ": a classifier needs at least 2 labels "
                + "(num_labels 1, a regression head, is not supported)");
          }
          return new SequenceClassifier(new BertModel(bert, true), "bert", bert.labels(),
              SequenceClassifier.Pooling.POOLER);
        }
        boolean pooler = checkpointNames.contains("pooler.dense.weight")
            || checkpointNames.contains("bert.pooler.dense.weight");
        return new BertModel(bert, pooler);
      default:
        throw new ModelFormatException(config.source() + ": unknown model_type '" + type
            + "' (supported: " + SUPPORTED + ")");
    }
  }
}
