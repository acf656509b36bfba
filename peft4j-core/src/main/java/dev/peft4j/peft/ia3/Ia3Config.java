package dev.peft4j.peft.ia3;

import dev.peft4j.peft.ConfigJson;
import dev.peft4j.peft.ModuleSelector;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.TaskType;
import java.util.List;
import java.util.Map;

/**
 * (IA)³ (Liu et al. 2022, "Few-shot parameter-efficient fine-tuning is better and cheaper than
 * in-context learning", §3.3): learned vectors that rescale activations — the output of each
 * targeted projection, {@code l ⊙ (W x + b)}, or, for a feed-forward one, its input,
 * {@code W (l ⊙ x) + b}. Vectors start at one (the model unchanged). Field names, meanings and
 * defaults are Hugging Face PEFT's {@code IA3Config}.
 *
 * @param targetModules which projections to rescale; null = the architecture's default
 *     (llama: k_proj, v_proj, down_proj; gpt2: c_attn, mlp.c_proj; bert: key, value, output.dense)
 * @param excludeModules projections never adapted; null for none
 * @param feedforwardModules which targets have their input rescaled instead of their output: a
 *     list of name suffixes (matched as plain suffixes, PEFT's rule: {@code output.dense} also
 *     matches {@code attention.output.dense}) or a regular expression; null = the architecture's
 *     default (llama: down_proj; gpt2: mlp.c_proj; bert: output.dense)
 * @param fanInFanOut whether targeted weights are stored [in, out] (set for GPT-2's Conv1D)
 * @param modulesToSave extra modules trained fully and saved with the adapter; null for none
 * @param initIa3Weights vectors start at one; false draws them from N(0, 1) (for tests)
 * @param taskType what the model is used for; may be null
 * @param baseModelNameOrPath the base model, recorded in the saved config; may be null
 * @param inferenceMode whether the adapter is frozen (as saved by PEFT after training)
 */
public record Ia3Config(
    ModuleSelector targetModules,
    ModuleSelector excludeModules,
    ModuleSelector feedforwardModules,
    boolean fanInFanOut,
    List<String> modulesToSave,
    boolean initIa3Weights,
    TaskType taskType,
    String baseModelNameOrPath,
    boolean inferenceMode) implements PeftConfig {

  public static final String PEFT_TYPE = "IA3";

  public Ia3Config {
    if (feedforwardModules instanceof ModuleSelector.AllLinear) {
      throw new IllegalArgumentException("feedforward_modules must be a list of names or a regex, not all-linear");
    }
    modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** This config with the targets and feed-forward modules filled in where they were left to the architecture. */
  Ia3Config withModules(ModuleSelector targets, ModuleSelector feedforward) {
    return new Ia3Config(targets, excludeModules, feedforward, fanInFanOut, modulesToSave, initIa3Weights, taskType,
        baseModelNameOrPath, inferenceMode);
  }

  /** This config with {@code fan_in_fan_out} set as PEFT does for Conv1D layers. */
  Ia3Config withFanInFanOut(boolean value) {
    return new Ia3Config(targetModules, excludeModules, feedforwardModules, value, modulesToSave, initIa3Weights,
        taskType, baseModelNameOrPath, inferenceMode);
  }

  /** This config recording the base model it is applied to. */
  public Ia3Config withBaseModel(String base) {
    return new Ia3Config(targetModules, excludeModules, feedforwardModules, fanInFanOut, modulesToSave, initIa3Weights,
        taskType, base, inferenceMode);
  }

  /**
   * Whether the module {@code name} is a feed-forward target, by PEFT's rule
   * ({@code IA3Model._check_target_module_feedforward}): a regex must match the whole name, a list
   * entry is a plain suffix of it.
   */
  public boolean isFeedforward(String name) {
    if (feedforwardModules instanceof ModuleSelector.Regex regex) {
      return regex.pattern().matcher(name).matches();
    }
    return feedforwardModules instanceof ModuleSelector.Names ff && ff.names().stream().anyMatch(name::endsWith);
  }

  @Override
  public String peftType() {
    return PEFT_TYPE;
  }

  /** Every key PEFT 0.21's {@code IA3Config.to_dict()} writes (src/peft/tuners/ia3/config.py). */
  @Override
  public Map<String, Object> toJsonMap() {
    Map<String, Object> m = ConfigJson.base(PEFT_TYPE, taskType, baseModelNameOrPath, inferenceMode);
    m.put("exclude_modules", excludeModules == null ? null : excludeModules.toJson());
    m.put("fan_in_fan_out", fanInFanOut);
    m.put("feedforward_modules", feedforwardModules == null ? null : feedforwardModules.toJson());
    m.put("init_ia3_weights", initIa3Weights);
    m.put("modules_to_save", modulesToSave);
    m.put("target_modules", targetModules == null ? null : targetModules.toJson());
    return m;
  }

  /** Builds an {@link Ia3Config}; unset fields take PEFT's defaults. */
  public static final class Builder {
    private ModuleSelector targetModules;
    private ModuleSelector excludeModules;
    private ModuleSelector feedforwardModules;
    private boolean fanInFanOut;
    private List<String> modulesToSave;
    private boolean initIa3Weights = true;
    private TaskType taskType;
    private String baseModelNameOrPath;
    private boolean inferenceMode;

    private Builder() {}

    public Builder targetModules(String... names) { targetModules = new ModuleSelector.Names(List.of(names)); return this; }
    public Builder targetModules(ModuleSelector value) { targetModules = value; return this; }
    public Builder excludeModules(ModuleSelector value) { excludeModules = value; return this; }
    public Builder feedforwardModules(String... names) { feedforwardModules = new ModuleSelector.Names(List.of(names)); return this; }
    public Builder feedforwardModules(ModuleSelector value) { feedforwardModules = value; return this; }
    public Builder fanInFanOut(boolean value) { fanInFanOut = value; return this; }
    public Builder modulesToSave(List<String> value) { modulesToSave = value; return this; }
    public Builder initIa3Weights(boolean value) { initIa3Weights = value; return this; }
    public Builder taskType(TaskType value) { taskType = value; return this; }
    public Builder baseModelNameOrPath(String value) { baseModelNameOrPath = value; return this; }
    public Builder inferenceMode(boolean value) { inferenceMode = value; return this; }

    /**
     * @throws IllegalArgumentException when listed feed-forward modules are not among listed targets
     *     (as PEFT checks the config it is given; defaults filled in later are not checked)
     */
    public Ia3Config build() {
      if (feedforwardModules instanceof ModuleSelector.Names ff && targetModules instanceof ModuleSelector.Names t
          && !t.names().containsAll(ff.names())) {
        throw new IllegalArgumentException("feedforward_modules " + ff.toJson() + " must be a subset of target_modules "
            + t.toJson());
      }
      return new Ia3Config(targetModules, excludeModules, feedforwardModules, fanInFanOut, modulesToSave,
          initIa3Weights, taskType, baseModelNameOrPath, inferenceMode);
    }
  }
}
