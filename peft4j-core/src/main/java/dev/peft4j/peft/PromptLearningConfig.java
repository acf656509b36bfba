package dev.peft4j.peft;

import java.util.Map;

/**
 * The configs of the prompt-learning methods (prefix tuning, prompt tuning, P-tuning): PEFT's
 * {@code PromptLearningConfig} fields, and virtual positions in front of the sequence.
 */
public interface PromptLearningConfig extends PeftConfig {

  int numVirtualTokens();

  /** The embedding width the prompt is made for; null until attached to a model. */
  Integer tokenDim();

  Integer numAttentionHeads();

  Integer numLayers();

  boolean inferenceMode();

  @Override
  default int virtualPositions() {
    return numVirtualTokens();
  }

  /** The keys of PEFT's {@code PromptLearningConfig.to_dict()}, to which each method adds its own. */
  default Map<String, Object> promptLearningJson() {
    return ConfigJson.promptLearning(peftType(), taskType(), baseModelNameOrPath(), inferenceMode(), numVirtualTokens(),
        tokenDim(), numAttentionHeads(), numLayers(), modulesToSave());
  }
}
