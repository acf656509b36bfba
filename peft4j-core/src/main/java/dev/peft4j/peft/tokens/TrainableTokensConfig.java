package dev.peft4j.peft.tokens;

import dev.peft4j.peft.ConfigJson;
import dev.peft4j.peft.ModuleSelector;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.TaskType;
import java.util.List;
import java.util.Map;

/**
 * Trainable tokens alone (PEFT's {@code TrainableTokensConfig}, {@code peft_type} {@code
 * TRAINABLE_TOKENS}): chosen rows of an embedding table trained in full — new tokens of a resized
 * vocabulary, say — and nothing else. Field names, meanings and defaults are PEFT's.
 *
 * @param tokenIndices the token ids whose rows train, distinct and non-negative
 * @param targetModules the embeddings to train them in; null = the model's input embedding
 * @param initWeights the rows start as the table's (the model unchanged); false draws them from N(0, 1)
 * @param taskType what the model is used for; may be null
 * @param baseModelNameOrPath the base model, recorded in the saved config; may be null
 * @param inferenceMode whether the adapter is frozen (as saved by PEFT after training)
 */
public record TrainableTokensConfig(List<Integer> tokenIndices, ModuleSelector targetModules, boolean initWeights,
    TaskType taskType, String baseModelNameOrPath, boolean inferenceMode) implements PeftConfig {

  public static final String PEFT_TYPE = "TRAINABLE_TOKENS";

  public TrainableTokensConfig {
    tokenIndices = TokenRows.distinctIds("token_indices", tokenIndices);
  }

  /** Rows {@code ids} of the input embedding, starting as the table's. */
  public static TrainableTokensConfig of(List<Integer> ids) {
    return new TrainableTokensConfig(ids, null, true, null, null, false);
  }

  /** This config training the rows in the embeddings {@code targets} selects. */
  public TrainableTokensConfig withTargetModules(ModuleSelector targets) {
    return new TrainableTokensConfig(tokenIndices, targets, initWeights, taskType, baseModelNameOrPath, inferenceMode);
  }

  /** This config with the rows starting from N(0, 1) ({@code init_weights=false}) or the table's. */
  public TrainableTokensConfig withInitWeights(boolean value) {
    return new TrainableTokensConfig(tokenIndices, targetModules, value, taskType, baseModelNameOrPath, inferenceMode);
  }

  /** This config recording what the adapter is for. */
  public TrainableTokensConfig withTaskType(TaskType value) {
    return new TrainableTokensConfig(tokenIndices, targetModules, initWeights, value, baseModelNameOrPath, inferenceMode);
  }

  /** This config recording the base model it is applied to. */
  public TrainableTokensConfig withBaseModel(String base) {
    return new TrainableTokensConfig(tokenIndices, targetModules, initWeights, taskType, base, inferenceMode);
  }

  @Override
  public String peftType() {
    return PEFT_TYPE;
  }

  /** None: PEFT's config has no {@code modules_to_save}. */
  @Override
  public List<String> modulesToSave() {
    return null;
  }

  /** Every key PEFT 0.21's {@code TrainableTokensConfig.to_dict()} writes (src/peft/tuners/trainable_tokens/config.py). */
  @Override
  public Map<String, Object> toJsonMap() {
    Map<String, Object> m = ConfigJson.base(PEFT_TYPE, taskType, baseModelNameOrPath, inferenceMode);
    m.put("init_weights", initWeights);
    m.put("target_modules", targetModules == null ? null : targetModules.toJson());
    m.put("token_indices", tokenIndices);
    return m;
  }
}
