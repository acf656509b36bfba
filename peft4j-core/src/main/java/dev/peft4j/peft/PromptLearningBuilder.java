package dev.peft4j.peft;

import java.util.List;

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

  /** @throws IllegalArgumentException if num_virtual_tokens was not set */
  protected int requiredNumVirtualTokens() {
    if (numVirtualTokens == null) {
      throw new IllegalArgumentException("num_virtual_tokens must be set");
    }
    return numVirtualTokens;
  }
}
