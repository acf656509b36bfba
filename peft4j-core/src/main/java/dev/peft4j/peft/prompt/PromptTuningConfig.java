package dev.peft4j.peft.prompt;

import dev.peft4j.peft.PromptLearningConfig;
import dev.peft4j.peft.PromptLearningBuilder;
import dev.peft4j.peft.TaskType;
import java.util.List;
import java.util.Map;

/**
 * Prompt tuning (Lester et al. 2021): {@code V} trainable embeddings prepended to the input
 * embeddings, {@code [P_e; X_e]} (their §2). Field names, meanings and defaults are Hugging Face
 * PEFT's {@code PromptTuningConfig}.
 *
 * @param numVirtualTokens V, > 0
 * @param init how the prompt starts (PEFT's {@code prompt_tuning_init})
 * @param initText the text whose token embeddings start a {@link PromptInit#TEXT} prompt
 *     (repeated or cut to V tokens); recorded
 * @param tokenizerNameOrPath the tokenizer that produced {@code initTokenIds}; recorded
 * @param initTokenIds the token ids of {@code initText}; needed to initialise a TEXT prompt, not
 *     saved (peft4j does not tokenise in the library; the CLI does)
 * @param tokenDim width of the input embeddings; filled from the model when attached
 * @param numAttentionHeads recorded; filled from the model
 * @param numLayers recorded; filled from the model
 * @param modulesToSave extra modules trained fully and saved with the adapter; null for none
 * @param taskType what the model is used for; may be null
 * @param baseModelNameOrPath the base model, recorded; may be null
 * @param inferenceMode true when loaded from a file (as PEFT's {@code from_pretrained}): the prompt is
 *     not initialised, the saved one is loaded
 */
public record PromptTuningConfig(
    int numVirtualTokens,
    PromptInit init,
    String initText,
    String tokenizerNameOrPath,
    List<Integer> initTokenIds,
    Integer tokenDim,
    Integer numAttentionHeads,
    Integer numLayers,
    List<String> modulesToSave,
    TaskType taskType,
    String baseModelNameOrPath,
    boolean inferenceMode) implements PromptLearningConfig {

  /** PEFT's {@code PromptTuningInit}. */
  public enum PromptInit {
    /** N(0, 1) vectors, as {@code torch.nn.Embedding} (may lie off the embedding manifold). */
    RANDOM,
    /** The embeddings of V token ids drawn uniformly from the vocabulary. */
    SAMPLE_VOCAB,
    /** The embeddings of a text's tokens, repeated or cut to V (Lester et al.'s "class label" / text init). */
    TEXT
  }

  public PromptTuningConfig {
    if (numVirtualTokens <= 0) {
      throw new IllegalArgumentException("num_virtual_tokens must be positive, got " + numVirtualTokens);
    }
    if (init == PromptInit.TEXT && initText == null) {
      throw new IllegalArgumentException("prompt_tuning_init=TEXT needs prompt_tuning_init_text");
    }
    if (initTokenIds != null && initTokenIds.isEmpty()) {
      throw new IllegalArgumentException("the text to initialise the prompt from has no tokens");
    }
    initTokenIds = initTokenIds == null ? null : List.copyOf(initTokenIds);
    modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** This config with the model's dimensions filled in. */
  PromptTuningConfig applied(int tokenDim, int heads, int layers) {
    return new PromptTuningConfig(numVirtualTokens, init, initText, tokenizerNameOrPath, initTokenIds, tokenDim, heads,
        layers, modulesToSave, taskType, baseModelNameOrPath, inferenceMode);
  }

  /** This config recording the base model it is applied to. */
  public PromptTuningConfig withBaseModel(String base) {
    return new PromptTuningConfig(numVirtualTokens, init, initText, tokenizerNameOrPath, initTokenIds, tokenDim,
        numAttentionHeads, numLayers, modulesToSave, taskType, base, inferenceMode);
  }

  @Override
  public String peftType() {
    return "PROMPT_TUNING";
  }

  /** Every key PEFT's {@code PromptTuningConfig.to_dict()} writes (src/peft/tuners/prompt_tuning/config.py, src/peft/config.py). */
  @Override
  public Map<String, Object> toJsonMap() {
    Map<String, Object> m = promptLearningJson();
    m.put("prompt_tuning_init", init.name());
    m.put("prompt_tuning_init_text", initText);
    m.put("tokenizer_kwargs", null);
    m.put("tokenizer_name_or_path", tokenizerNameOrPath);
    return m;
  }

  /** Builds a {@link PromptTuningConfig}: RANDOM init; {@code numVirtualTokens} is required. */
  public static final class Builder extends PromptLearningBuilder<Builder> {
    private PromptInit init = PromptInit.RANDOM;
    private String initText;
    private String tokenizerNameOrPath;
    private List<Integer> initTokenIds;

    private Builder() {}

    public Builder init(PromptInit value) {
      init = value;
      return this;
    }

    /**
     * TEXT init from {@code text}, whose token ids (from {@code tokenizer}) are {@code tokenIds}.
     */
    public Builder initFromText(String text, List<Integer> tokenIds, String tokenizer) {
      init = PromptInit.TEXT;
      initText = text;
      initTokenIds = tokenIds;
      tokenizerNameOrPath = tokenizer;
      return this;
    }

    /** Records text fields as read from a file (no token ids). */
    Builder recordedText(String text, String tokenizer) {
      initText = text;
      tokenizerNameOrPath = tokenizer;
      return this;
    }

    public PromptTuningConfig build() {
      return new PromptTuningConfig(requiredNumVirtualTokens(), init, initText, tokenizerNameOrPath, initTokenIds, tokenDim,
          numAttentionHeads, numLayers, modulesToSave, taskType, baseModelNameOrPath, inferenceMode);
    }
  }
}
