package dev.peft4j.peft;

import java.util.List;
import java.util.Map;

/**
 * The settings every prompt-learning config shares (PEFT's {@code PromptLearningConfig}: virtual
 * tokens, model dimensions, task, base model, inference mode), for the builders of prompt tuning,
 * P-tuning and prefix tuning.
 *
 * @param <B> the concrete builder, returned by every setter
 */
public abstract class PromptLearningBuilder<B extends PromptLearningBuilder<B>> {
  protected Integer numVirtualTokens;
  protected Integer tokenDim;
  protected Integer numAttentionHeads;
  protected Integer numLayers;
  protected List<String> modulesToSave;
  protected TaskType taskType;
  protected String baseModelNameOrPath;
  protected boolean inferenceMode;

  protected PromptLearningBuilder() {}

  @SuppressWarnings("unchecked")
  private B self() {
    return (B) this;
  }

  public B numVirtualTokens(int value) {
    numVirtualTokens = value;
    return self();
  }

  /** Normally left unset: filled from the model when attached, and checked against it when loaded. */
  public B dimensions(Integer tokenDim, Integer numAttentionHeads, Integer numLayers) {
    this.tokenDim = tokenDim;
    this.numAttentionHeads = numAttentionHeads;
    this.numLayers = numLayers;
    return self();
  }

  public B modulesToSave(List<String> value) {
    modulesToSave = value;
    return self();
  }

  public B taskType(TaskType value) {
    taskType = value;
    return self();
  }

  public B baseModelNameOrPath(String value) {
    baseModelNameOrPath = value;
    return self();
  }

  public B inferenceMode(boolean value) {
    inferenceMode = value;
    return self();
  }

  /**
   * The shared settings as read from an {@code adapter_config.json}, for loading: like PEFT's
   * {@code from_pretrained}, in inference mode.
   *
   * @throws IllegalArgumentException naming the key of a missing or mistyped value, or if the
   *     adapter is for an encoder-decoder model ({@code num_transformer_submodules} 2)
   */
  public B loadedFrom(Map<String, Object> json) {
    Integer submodules = ConfigJson.optionalInt(json, "num_transformer_submodules");
    if (submodules != null && submodules != 1) {
      throw new IllegalArgumentException("num_transformer_submodules=" + submodules
          + " (an encoder-decoder model) is not supported");
    }
    return numVirtualTokens(ConfigJson.requiredInt(json, "num_virtual_tokens"))
        .dimensions(ConfigJson.optionalInt(json, "token_dim"), ConfigJson.optionalInt(json, "num_attention_heads"),
            ConfigJson.optionalInt(json, "num_layers"))
        .modulesToSave(ConfigJson.strings(json, "modules_to_save"))
        .taskType(ConfigJson.taskType(json))
        .baseModelNameOrPath(ConfigJson.string(json, "base_model_name_or_path"))
        .inferenceMode(true);
  }

  /** @throws IllegalArgumentException if num_virtual_tokens was not set */
  protected int requiredNumVirtualTokens() {
    if (numVirtualTokens == null) {
      throw new IllegalArgumentException("num_virtual_tokens must be set");
    }
    return numVirtualTokens;
  }
}
