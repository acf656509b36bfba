package dev.peft4j.peft.loha;

import dev.peft4j.peft.ConfigChecks;
import dev.peft4j.peft.ConfigJson;
import dev.peft4j.peft.ModuleSelector;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.TargetMatcher;
import dev.peft4j.peft.TaskType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LoHa (Hyeon-Woo et al. 2022, "FedPara", eq. 3; LyCORIS): a low-rank Hadamard product update
 * {@code ΔW = (α/r) · (W1a W1b) ⊙ (W2a W2b)} on the targeted linear layers, W1a and W2a [out, r],
 * W1b and W2b [r, in] — rank up to r² from 4r(in + out)/2 parameters. Field names, meanings and
 * defaults are Hugging Face PEFT's {@code LoHaConfig} (Linear layers only, as PEFT).
 *
 * @param r rank of each factor, > 0 (default 8)
 * @param alpha α; the update is scaled by α/r (default 8)
 * @param rankDropout while training, each output row of ΔW is dropped with this probability (and the
 *     kept rows rescaled by the kept share), in [0, 1)
 * @param moduleDropout while training, the whole update is skipped with this probability, in [0, 1)
 * @param targetModules which layers to adapt; null = the architecture's default (LoRA's)
 * @param excludeModules layers never adapted; null for none
 * @param initWeights W2b = 0 at the start (the model unchanged), the others Kaiming-uniform; false:
 *     all four Kaiming-uniform (for tests)
 * @param layersToTransform only adapt layers with these indices; null for all
 * @param layersPattern names of the layer containers for {@code layersToTransform}; null for PEFT's
 * @param rankPattern per-module rank overrides: key (regex suffix of the module name) → r
 * @param alphaPattern per-module α overrides: key → α
 * @param modulesToSave extra modules trained fully and saved with the adapter; null for none
 * @param taskType what the model is used for; may be null
 * @param baseModelNameOrPath the base model, recorded in the saved config; may be null
 * @param inferenceMode whether the adapter is frozen
 */
public record LoHaConfig(int r, double alpha, double rankDropout, double moduleDropout, ModuleSelector targetModules,
    ModuleSelector excludeModules, boolean initWeights, List<Integer> layersToTransform, List<String> layersPattern,
    Map<String, Integer> rankPattern, Map<String, Double> alphaPattern, List<String> modulesToSave, TaskType taskType,
    String baseModelNameOrPath, boolean inferenceMode) implements PeftConfig {

  public static final String PEFT_TYPE = "LOHA";

  public LoHaConfig {
    ConfigChecks.positiveRank(r);
    ConfigChecks.probability("rank_dropout", rankDropout);
    ConfigChecks.probability("module_dropout", moduleDropout);
    ConfigChecks.layersPatternNeedsLayers(layersPattern, layersToTransform);
    layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
    layersPattern = layersPattern == null ? null : List.copyOf(layersPattern);
    rankPattern = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern));
    alphaPattern = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern));
    modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** This config with the targets filled in (when they were left to the architecture's default). */
  LoHaConfig withTargetModules(ModuleSelector targets) {
    return new LoHaConfig(r, alpha, rankDropout, moduleDropout, targets, excludeModules, initWeights, layersToTransform,
        layersPattern, rankPattern, alphaPattern, modulesToSave, taskType, baseModelNameOrPath, inferenceMode);
  }

  /** This config recording the base model it is applied to. */
  public LoHaConfig withBaseModel(String base) {
    return new LoHaConfig(r, alpha, rankDropout, moduleDropout, targetModules, excludeModules, initWeights,
        layersToTransform, layersPattern, rankPattern, alphaPattern, modulesToSave, taskType, base, inferenceMode);
  }

  /** The rank of the module {@code name}: its rank_pattern entry, else r. */
  int rankFor(String moduleName) {
    return TargetMatcher.firstMatchingKey(rankPattern.keySet(), moduleName).map(rankPattern::get).orElse(r);
  }

  /** The scale α/r of the module {@code name}, both after their patterns. */
  double scalingFor(String moduleName) {
    return TargetMatcher.firstMatchingKey(alphaPattern.keySet(), moduleName).map(alphaPattern::get).orElse(alpha)
        / rankFor(moduleName);
  }

  @Override
  public String peftType() {
    return PEFT_TYPE;
  }

  /** Every key PEFT 0.21's {@code LoHaConfig.to_dict()} writes (src/peft/tuners/loha/config.py). */
  @Override
  public Map<String, Object> toJsonMap() {
    Map<String, Object> m = ConfigJson.base(PEFT_TYPE, taskType, baseModelNameOrPath, inferenceMode);
    m.put("alpha", ConfigJson.integralOrDouble(alpha));
    m.put("alpha_pattern", new LinkedHashMap<>(alphaPattern));
    m.put("exclude_modules", excludeModules == null ? null : excludeModules.toJson());
    m.put("init_weights", initWeights);
    m.put("layers_pattern", layersPattern);
    m.put("layers_to_transform", layersToTransform);
    m.put("module_dropout", moduleDropout);
    m.put("modules_to_save", modulesToSave);
    m.put("r", r);
    m.put("rank_dropout", rankDropout);
    m.put("rank_pattern", new LinkedHashMap<>(rankPattern));
    m.put("target_modules", targetModules == null ? null : targetModules.toJson());
    m.put("use_effective_conv2d", false);
    return m;
  }

  /** Builds a {@link LoHaConfig}; unset fields take PEFT's defaults. */
  public static final class Builder {
    private int r = 8;
    private double alpha = 8;
    private double rankDropout;
    private double moduleDropout;
    private ModuleSelector targetModules;
    private ModuleSelector excludeModules;
    private boolean initWeights = true;
    private List<Integer> layersToTransform;
    private List<String> layersPattern;
    private Map<String, Integer> rankPattern = new LinkedHashMap<>();
    private Map<String, Double> alphaPattern = new LinkedHashMap<>();
    private List<String> modulesToSave;
    private TaskType taskType;
    private String baseModelNameOrPath;
    private boolean inferenceMode;

    private Builder() {}

    public Builder r(int value) { r = value; return this; }
    public Builder alpha(double value) { alpha = value; return this; }
    public Builder rankDropout(double value) { rankDropout = value; return this; }
    public Builder moduleDropout(double value) { moduleDropout = value; return this; }
    public Builder targetModules(String... names) { targetModules = new ModuleSelector.Names(List.of(names)); return this; }
    public Builder targetModules(ModuleSelector value) { targetModules = value; return this; }
    public Builder excludeModules(ModuleSelector value) { excludeModules = value; return this; }
    public Builder initWeights(boolean value) { initWeights = value; return this; }
    public Builder layersToTransform(List<Integer> value) { layersToTransform = value; return this; }
    public Builder layersPattern(List<String> value) { layersPattern = value; return this; }
    public Builder rankPattern(Map<String, Integer> value) { rankPattern = new LinkedHashMap<>(value); return this; }
    public Builder alphaPattern(Map<String, Double> value) { alphaPattern = new LinkedHashMap<>(value); return this; }
    public Builder modulesToSave(List<String> value) { modulesToSave = value; return this; }
    public Builder taskType(TaskType value) { taskType = value; return this; }
    public Builder baseModelNameOrPath(String value) { baseModelNameOrPath = value; return this; }
    public Builder inferenceMode(boolean value) { inferenceMode = value; return this; }

    /** @throws IllegalArgumentException naming the field, for out-of-range or contradictory values */
    public LoHaConfig build() {
      return new LoHaConfig(r, alpha, rankDropout, moduleDropout, targetModules, excludeModules, initWeights,
          layersToTransform, layersPattern, rankPattern, alphaPattern, modulesToSave, taskType, baseModelNameOrPath,
          inferenceMode);
    }
  }
}
