package dev.peft4j.peft.vera;

import dev.peft4j.peft.ConfigChecks;
import dev.peft4j.peft.ConfigJson;
import dev.peft4j.peft.ModuleSelector;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.TaskType;
import java.util.List;
import java.util.Map;

/**
 * VeRA (Kopiczko et al. 2024, "VeRA: Vector-based Random Matrix Adaptation", eq. 1):
 * {@code h = W x + Λ_b B Λ_d A x} on the targeted linear layers, with A [r, in] and B [out, r]
 * frozen random matrices shared by every layer (drawn once at the largest shapes from
 * {@code projection_prng_key} and sliced per layer) and only the diagonal scalings trained:
 * {@code vera_lambda_d} [r], starting at {@code d_initial}, and {@code vera_lambda_b} [out], starting
 * at zero (the model unchanged). Field names, meanings and defaults are Hugging Face PEFT's
 * {@code VeraConfig}; its {@code bias} other than "none" is not supported.
 *
 * @param r rank of the shared projections, > 0 (PEFT's default 256)
 * @param targetModules which layers to adapt; null = the architecture's default (LoRA's)
 * @param projectionPrngKey the seed A and B are drawn from (PyTorch's generator, Kaiming-uniform)
 * @param saveProjection whether A and B are saved with the adapter (else drawn again on loading)
 * @param veraDropout dropout on the input during training, in [0, 1)
 * @param dInitial the starting value of every λ_d
 * @param fanInFanOut whether targeted weights are stored [in, out] (set for GPT-2's Conv1D)
 * @param modulesToSave extra modules trained fully and saved with the adapter; null for none
 * @param initWeights λ_b = 0 and λ_d = d_initial; false: λ_b = 1 and λ_d ~ N(0, 1) (for tests)
 * @param layersToTransform only adapt layers with these indices; null for all
 * @param layersPattern names of the layer containers for {@code layersToTransform}; null for PEFT's
 * @param taskType what the model is used for; may be null
 * @param baseModelNameOrPath the base model, recorded in the saved config; may be null
 * @param inferenceMode whether the adapter is frozen
 */
public record VeraConfig(int r, ModuleSelector targetModules, long projectionPrngKey, boolean saveProjection,
    double veraDropout, double dInitial, boolean fanInFanOut, List<String> modulesToSave, boolean initWeights,
    List<Integer> layersToTransform, List<String> layersPattern, TaskType taskType, String baseModelNameOrPath,
    boolean inferenceMode) implements PeftConfig {

  public static final String PEFT_TYPE = "VERA";

  public VeraConfig {
    ConfigChecks.positiveRank(r);
    ConfigChecks.probability("vera_dropout", veraDropout);
    ConfigChecks.layersPatternNeedsLayers(layersPattern, layersToTransform);
    modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
    layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
    layersPattern = layersPattern == null ? null : List.copyOf(layersPattern);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** This config with targets and {@code fan_in_fan_out} as applied to a model. */
  VeraConfig applied(ModuleSelector targets, boolean fanInFanOut) {
    return new VeraConfig(r, targets, projectionPrngKey, saveProjection, veraDropout, dInitial, fanInFanOut,
        modulesToSave, initWeights, layersToTransform, layersPattern, taskType, baseModelNameOrPath, inferenceMode);
  }

  /** This config recording the base model it is applied to. */
  public VeraConfig withBaseModel(String base) {
    return new VeraConfig(r, targetModules, projectionPrngKey, saveProjection, veraDropout, dInitial, fanInFanOut,
        modulesToSave, initWeights, layersToTransform, layersPattern, taskType, base, inferenceMode);
  }

  @Override
  public String peftType() {
    return PEFT_TYPE;
  }

  /** Every key PEFT 0.21's {@code VeraConfig.to_dict()} writes (src/peft/tuners/vera/config.py). */
  @Override
  public Map<String, Object> toJsonMap() {
    Map<String, Object> m = ConfigJson.base(PEFT_TYPE, taskType, baseModelNameOrPath, inferenceMode);
    m.put("bias", "none");
    m.put("d_initial", dInitial);
    m.put("fan_in_fan_out", fanInFanOut);
    m.put("init_weights", initWeights);
    m.put("layers_pattern", layersPattern);
    m.put("layers_to_transform", layersToTransform);
    m.put("modules_to_save", modulesToSave);
    m.put("projection_prng_key", projectionPrngKey);
    m.put("r", r);
    m.put("save_projection", saveProjection);
    m.put("target_modules", targetModules == null ? null : targetModules.toJson());
    m.put("vera_dropout", veraDropout);
    return m;
  }

  /** Builds a {@link VeraConfig}; unset fields take PEFT's defaults. */
  public static final class Builder {
    private int r = 256;
    private ModuleSelector targetModules;
    private long projectionPrngKey;
    private boolean saveProjection = true;
    private double veraDropout;
    private double dInitial = 0.1;
    private boolean fanInFanOut;
    private List<String> modulesToSave;
    private boolean initWeights = true;
    private List<Integer> layersToTransform;
    private List<String> layersPattern;
    private TaskType taskType;
    private String baseModelNameOrPath;
    private boolean inferenceMode;

    private Builder() {}

    public Builder r(int value) { r = value; return this; }
    public Builder targetModules(String... names) { targetModules = new ModuleSelector.Names(List.of(names)); return this; }
    public Builder targetModules(ModuleSelector value) { targetModules = value; return this; }
    public Builder projectionPrngKey(long value) { projectionPrngKey = value; return this; }
    public Builder saveProjection(boolean value) { saveProjection = value; return this; }
    public Builder veraDropout(double value) { veraDropout = value; return this; }
    public Builder dInitial(double value) { dInitial = value; return this; }
    public Builder fanInFanOut(boolean value) { fanInFanOut = value; return this; }
    public Builder modulesToSave(List<String> value) { modulesToSave = value; return this; }
    public Builder initWeights(boolean value) { initWeights = value; return this; }
    public Builder layersToTransform(List<Integer> value) { layersToTransform = value; return this; }
    public Builder layersPattern(List<String> value) { layersPattern = value; return this; }
    public Builder taskType(TaskType value) { taskType = value; return this; }
    public Builder baseModelNameOrPath(String value) { baseModelNameOrPath = value; return this; }
    public Builder inferenceMode(boolean value) { inferenceMode = value; return this; }

    /** @throws IllegalArgumentException naming the field, for out-of-range or contradictory values */
    public VeraConfig build() {
      return new VeraConfig(r, targetModules, projectionPrngKey, saveProjection, veraDropout, dInitial, fanInFanOut,
          modulesToSave, initWeights, layersToTransform, layersPattern, taskType, baseModelNameOrPath, inferenceMode);
    }
  }
}
