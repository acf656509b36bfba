package dev.peft4j.peft.lora;

import dev.peft4j.peft.ConfigChecks;
import dev.peft4j.peft.ConfigJson;
import dev.peft4j.peft.ModuleSelector;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.TaskType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * LoRA (Hu et al. 2022): {@code h = W x + (α/r) · B A x} on the targeted linear layers, A [r, in],
 * B [out, r]. Field names, meanings and defaults are Hugging Face PEFT's {@code LoraConfig}.
 *
 * @param r rank of the update, > 0 (default 8)
 * @param loraAlpha α; the update is scaled by α/r, or α/√r with {@code useRslora} (default 8)
 * @param loraDropout dropout on the LoRA input during training, in [0, 1) (default 0)
 * @param targetModules which layers to adapt; null = the architecture's default
 *     (llama: q_proj, v_proj; gpt2: c_attn; bert: query, value)
 * @param excludeModules layers never adapted; null for none
 * @param fanInFanOut whether targeted weights are stored [in, out] (set for GPT-2's Conv1D)
 * @param bias which biases train: none, all, or those of adapted layers (lora_only)
 * @param useRslora rank-stabilised scaling α/√r (Kalajdzievski 2023)
 * @param useDora DoRA (Liu et al. 2024): a trained magnitude per output rescales the adapted
 *     weight's normalised rows, {@code W' = m · (W + ΔW) / ‖W + ΔW‖}
 * @param loraBias B has a trained bias of its own, scaled with the update: {@code (α/r)·(B A x + b_B)}
 *     ({@code lora_bias}; not with DoRA or on embeddings; merging needs the layer to have a bias)
 * @param modulesToSave extra modules trained fully and saved with the adapter (e.g. a
 *     classification head); null for none
 * @param init initialisation of A and B
 * @param layersToTransform only adapt layers with these indices; null for all
 * @param layersPattern names of the layer containers for {@code layersToTransform}; null for
 *     PEFT's defaults (layers, h, block, blocks, layer)
 * @param rankPattern per-layer rank overrides: key (regex suffix of the module name) → r
 * @param alphaPattern per-layer α overrides: key → α
 * @param taskType what the model is used for (CAUSAL_LM, SEQ_CLS, ...); may be null
 * @param baseModelNameOrPath the base model, recorded in the saved config; may be null
 * @param inferenceMode whether the adapter is frozen (as saved by PEFT after training)
 * @param trainableTokens embedding rows trained in full beside LoRA ({@code trainable_token_indices}); null for none
 */
public record LoraConfig(
    int r,
    double loraAlpha,
    double loraDropout,
    ModuleSelector targetModules,
    ModuleSelector excludeModules,
    boolean fanInFanOut,
    LoraBias bias,
    boolean useRslora,
    boolean useDora,
    boolean loraBias,
    List<String> modulesToSave,
    LoraInit init,
    List<Integer> layersToTransform,
    List<String> layersPattern,
    Map<String, Integer> rankPattern,
    Map<String, Double> alphaPattern,
    TaskType taskType,
    String baseModelNameOrPath,
    boolean inferenceMode,
    TrainableTokens trainableTokens) implements PeftConfig {

  /** Which biases are trained and saved. */
  public enum LoraBias {
    NONE("none"), ALL("all"), LORA_ONLY("lora_only");

    final String json;

    LoraBias(String json) {
      this.json = json;
    }

    static LoraBias parse(String s) {
      for (LoraBias b : values()) {
        if (b.json.equals(s)) {
          return b;
        }
      }
      throw new IllegalArgumentException("bias must be one of none, all, lora_only; got '" + s + "'");
    }
  }

  /** {@code init_lora_weights}. */
  public enum LoraInit {
    /**
     * {@code true}: A Kaiming-uniform (bound 1/√in), B = 0 — the adapter starts as the identity.
     * On an embedding, as PEFT: A = 0, B ~ N(0, 1).
     */
    DEFAULT,
    /** {@code "gaussian"}: A ~ N(0, 1/r), B = 0 (on an embedding as {@link #DEFAULT}). */
    GAUSSIAN,
    /** {@code false}: A and B both Kaiming-uniform (on an embedding both N(0, 1)) — a random, non-zero start (for tests). */
    RANDOM
  }

  public LoraConfig {
    ConfigChecks.positiveRank(r);
    ConfigChecks.probability("lora_dropout", loraDropout);
    if (loraBias && useDora) {
      throw new IllegalArgumentException("lora_bias is not supported with DoRA (use_dora)");
    }
    if (loraBias && init == LoraInit.GAUSSIAN) {
      throw new IllegalArgumentException("lora_bias needs init_lora_weights true or false, not gaussian");
    }
    if (targetModules instanceof ModuleSelector.Regex && layersToTransform != null) {
      throw new IllegalArgumentException("layers_to_transform cannot be used when target_modules is a regex string");
    }
    ConfigChecks.layersPatternNeedsLayers(layersPattern, layersToTransform);
    rankPattern.forEach((k, v) -> {
      if (v <= 0) {
        throw new IllegalArgumentException("rank_pattern['" + k + "'] must be positive, got " + v);
      }
    });
    modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
    layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
    layersPattern = layersPattern == null ? null : List.copyOf(layersPattern);
    rankPattern = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern));
    alphaPattern = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern));
  }

  public static Builder builder() {
    return new Builder();
  }

  /** This config with the targets filled in (when they were left to the architecture's default). */
  public LoraConfig withTargetModules(ModuleSelector targets) {
    return new LoraConfig(r, loraAlpha, loraDropout, targets, excludeModules, fanInFanOut, bias, useRslora,
        useDora, loraBias, modulesToSave, init, layersToTransform, layersPattern, rankPattern, alphaPattern, taskType,
        baseModelNameOrPath, inferenceMode, trainableTokens);
  }

  /** This config with {@code fan_in_fan_out} set as PEFT does for Conv1D layers. */
  public LoraConfig withFanInFanOut(boolean value) {
    return new LoraConfig(r, loraAlpha, loraDropout, targetModules, excludeModules, value, bias, useRslora,
        useDora, loraBias, modulesToSave, init, layersToTransform, layersPattern, rankPattern, alphaPattern, taskType,
        baseModelNameOrPath, inferenceMode, trainableTokens);
  }

  /** This config recording the base model it is applied to. */
  public LoraConfig withBaseModel(String base) {
    return new LoraConfig(r, loraAlpha, loraDropout, targetModules, excludeModules, fanInFanOut, bias, useRslora,
        useDora, loraBias, modulesToSave, init, layersToTransform, layersPattern, rankPattern, alphaPattern, taskType, base,
        inferenceMode, trainableTokens);
  }

  /** The rank of the module {@code name}: its rank_pattern entry, else r. */
  public int rankFor(String moduleName) {
    return dev.peft4j.peft.TargetMatcher.firstMatchingKey(rankPattern.keySet(), moduleName)
        .map(rankPattern::get).orElse(r);
  }

  /** The scaling α/r (or α/√r) of the module {@code name}. */
  public double scalingFor(String moduleName) {
    double alpha = dev.peft4j.peft.TargetMatcher.firstMatchingKey(alphaPattern.keySet(), moduleName)
        .map(alphaPattern::get).orElse(loraAlpha);
    int rank = rankFor(moduleName);
    return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
  }

  @Override
  public String peftType() {
    return "LORA";
  }

  /**
   * Every key PEFT 0.20's {@code LoraConfig.to_dict()} writes (src/peft/tuners/lora/config.py and
   * src/peft/config.py at huggingface/peft@5d602fd), with PEFT's defaults for the features
   * peft4j does not implement.
   */
  @Override
  public Map<String, Object> toJsonMap() {
    Map<String, Object> m = new TreeMap<>();
    m.put("alora_invocation_tokens", null);
    m.put("alpha_pattern", new LinkedHashMap<>(alphaPattern));
    m.put("arrow_config", null);
    m.put("auto_mapping", null);
    m.put("base_model_name_or_path", baseModelNameOrPath);
    m.put("bias", bias.json);
    m.put("corda_config", null);
    m.put("ensure_weight_tying", false);
    m.put("eva_config", null);
    m.put("exclude_modules", excludeModules == null ? null : excludeModules.toJson());
    m.put("fan_in_fan_out", fanInFanOut);
    m.put("inference_mode", inferenceMode);
    m.put("init_lora_weights", init == LoraInit.DEFAULT ? Boolean.TRUE : init == LoraInit.GAUSSIAN ? "gaussian" : Boolean.FALSE);
    m.put("kasa_config", null);
    m.put("layer_replication", null);
    m.put("layers_pattern", layersPattern);
    m.put("layers_to_transform", layersToTransform);
    m.put("loftq_config", Map.of());
    m.put("lora_alpha", ConfigJson.integralOrDouble(loraAlpha));
    m.put("lora_bias", loraBias);
    m.put("lora_dropout", loraDropout);
    m.put("lora_ga_config", null);
    m.put("megatron_config", null);
    m.put("megatron_core", "megatron.core");
    m.put("modules_to_save", modulesToSave);
    m.put("monteclora_config", null);
    m.put("peft_type", peftType());
    m.put("peft_version", "0.20.1.dev0");
    m.put("qalora_group_size", 16);
    m.put("r", r);
    m.put("rank_pattern", new LinkedHashMap<>(rankPattern));
    m.put("revision", null);
    m.put("target_modules", targetModules == null ? null : targetModules.toJson());
    m.put("target_parameters", null);
    m.put("task_type", taskType == null ? null : taskType.name());
    m.put("trainable_token_indices", trainableTokens == null ? null : trainableTokens.toJson());
    m.put("use_bdlora", null);
    m.put("use_dora", useDora);
    m.put("use_qalora", false);
    m.put("use_rslora", useRslora);
    m.put("velora_config", null);
    return m;
  }

  /** Builds a {@link LoraConfig}; unset fields take PEFT's defaults. */
  public static final class Builder {
    private int r = 8;
    private double loraAlpha = 8;
    private double loraDropout = 0;
    private ModuleSelector targetModules;
    private ModuleSelector excludeModules;
    private boolean fanInFanOut;
    private LoraBias bias = LoraBias.NONE;
    private boolean useRslora;
    private boolean useDora;
    private boolean loraBias;
    private List<String> modulesToSave;
    private LoraInit init = LoraInit.DEFAULT;
    private List<Integer> layersToTransform;
    private List<String> layersPattern;
    private Map<String, Integer> rankPattern = new LinkedHashMap<>();
    private Map<String, Double> alphaPattern = new LinkedHashMap<>();
    private TaskType taskType;
    private String baseModelNameOrPath;
    private boolean inferenceMode;
    private TrainableTokens trainableTokens;

    private Builder() {}

    public Builder r(int value) { r = value; return this; }
    public Builder loraAlpha(double value) { loraAlpha = value; return this; }
    public Builder loraDropout(double value) { loraDropout = value; return this; }
    /** Exact names or dotted suffixes, e.g. {@code "q_proj", "v_proj"}. */
    public Builder targetModules(String... names) { targetModules = new ModuleSelector.Names(List.of(names)); return this; }
    /** A regex matched against whole module names. */
    public Builder targetModulesRegex(String regex) { targetModules = new ModuleSelector.Regex(regex); return this; }
    /** Every linear layer except the output head. */
    public Builder allLinear() { targetModules = new ModuleSelector.AllLinear(); return this; }
    public Builder targetModules(ModuleSelector value) { targetModules = value; return this; }
    public Builder excludeModules(ModuleSelector value) { excludeModules = value; return this; }
    public Builder fanInFanOut(boolean value) { fanInFanOut = value; return this; }
    public Builder bias(LoraBias value) { bias = value; return this; }
    public Builder useRslora(boolean value) { useRslora = value; return this; }
    public Builder useDora(boolean value) { useDora = value; return this; }
    public Builder loraBias(boolean value) { loraBias = value; return this; }
    public Builder modulesToSave(String... names) { modulesToSave = List.of(names); return this; }
    public Builder modulesToSave(List<String> names) { modulesToSave = names; return this; }
    public Builder init(LoraInit value) { init = value; return this; }
    public Builder layersToTransform(Integer... layers) { layersToTransform = List.of(layers); return this; }
    public Builder layersToTransform(List<Integer> layers) { layersToTransform = layers; return this; }
    public Builder layersPattern(List<String> value) { layersPattern = value; return this; }
    public Builder rankPattern(Map<String, Integer> value) { rankPattern = new LinkedHashMap<>(value); return this; }
    public Builder alphaPattern(Map<String, Double> value) { alphaPattern = new LinkedHashMap<>(value); return this; }
    public Builder taskType(TaskType value) { taskType = value; return this; }
    public Builder baseModelNameOrPath(String value) { baseModelNameOrPath = value; return this; }
    public Builder inferenceMode(boolean value) { inferenceMode = value; return this; }
    /** Rows of the input embedding (by token id) trained in full beside LoRA. */
    public Builder trainableTokenIndices(Integer... ids) { trainableTokens = TrainableTokens.of(List.of(ids)); return this; }
    public Builder trainableTokens(TrainableTokens value) { trainableTokens = value; return this; }

    /** @throws IllegalArgumentException naming the field, for out-of-range or contradictory values */
    public LoraConfig build() {
      return new LoraConfig(r, loraAlpha, loraDropout, targetModules, excludeModules, fanInFanOut, bias,
          useRslora, useDora, loraBias, modulesToSave, init, layersToTransform, layersPattern, rankPattern, alphaPattern,
          taskType, baseModelNameOrPath, inferenceMode, trainableTokens);
    }
  }
}
