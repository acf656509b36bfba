package dev.peft4j.peft.lora;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.peft.ConfigJson;
import dev.peft4j.peft.ModuleSelector;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Reads a LoRA {@code adapter_config.json}, rejecting PEFT features peft4j does not implement. */
public final class LoraConfigJson {
  /** Keys that change the math when set; peft4j refuses them rather than load a wrong model. */
  private static final List<String> UNSUPPORTED_FLAGS = List.of("use_qalora");
  private static final List<String> UNSUPPORTED_OBJECTS = List.of(
      "layer_replication", "target_parameters", "alora_invocation_tokens",
      "use_bdlora", "arrow_config", "kasa_config", "monteclora_config", "velora_config");

  private LoraConfigJson() {}

  public static LoraConfig parse(Map<String, Object> json, String source) throws ModelFormatException {
    for (String flag : UNSUPPORTED_FLAGS) {
      if (Boolean.TRUE.equals(json.get(flag))) {
        throw new ModelFormatException(source + ": " + flag + "=true is not supported by peft4j");
      }
    }
    for (String key : UNSUPPORTED_OBJECTS) {
      if (json.get(key) != null) {
        throw new ModelFormatException(source + ": " + key + " is not supported by peft4j");
      }
    }
    try {
      LoraConfig.Builder b = LoraConfig.builder()
          .r(Objects.requireNonNullElse(ConfigJson.optionalInt(json, "r"), 8))
          .loraAlpha(ConfigJson.number(json, "lora_alpha", 8))
          .loraDropout(ConfigJson.number(json, "lora_dropout", 0))
          .fanInFanOut(ConfigJson.bool(json, "fan_in_fan_out", false))
          .bias(LoraConfig.LoraBias.parse(String.valueOf(json.getOrDefault("bias", "none"))))
          .useRslora(ConfigJson.bool(json, "use_rslora", false))
          .useDora(ConfigJson.bool(json, "use_dora", false))
          .loraBias(ConfigJson.bool(json, "lora_bias", false))
          .init(init(json.getOrDefault("init_lora_weights", Boolean.TRUE)))
          .taskType(ConfigJson.taskType(json))
          .baseModelNameOrPath(ConfigJson.string(json, "base_model_name_or_path"))
          .inferenceMode(ConfigJson.bool(json, "inference_mode", false));
      if (json.get("target_modules") != null) {
        b.targetModules(ModuleSelector.fromJson(json.get("target_modules")));
      }
      if (json.get("exclude_modules") != null) {
        b.excludeModules(ModuleSelector.fromJson(json.get("exclude_modules")));
      }
      b.modulesToSave(ConfigJson.strings(json, "modules_to_save"));
      b.layersToTransform(ConfigJson.layersToTransform(json));
      b.layersPattern(ConfigJson.layersPattern(json));
      b.rankPattern(ConfigJson.rankPattern(json));
      b.alphaPattern(ConfigJson.alphaPattern(json));
      Object tokens = json.get("trainable_token_indices");
      if (tokens != null) {
        b.trainableTokens(tokens instanceof List<?> ids ? TrainableTokens.of(tokenIds(ids))
            : TrainableTokens.of(ConfigJson.map(tokens, ids -> tokenIds((List<?>) ids))));
      }
      return b.build();
    } catch (IllegalArgumentException | ClassCastException e) {
      throw new ModelFormatException(source + ": " + e.getMessage(), e);
    }
  }

  private static LoraConfig.LoraInit init(Object value) {
    if (Boolean.TRUE.equals(value)) {
      return LoraConfig.LoraInit.DEFAULT;
    }
    if (Boolean.FALSE.equals(value)) {
      return LoraConfig.LoraInit.RANDOM;
    }
    if ("gaussian".equals(value)) {
      return LoraConfig.LoraInit.GAUSSIAN;
    }
    throw new IllegalArgumentException("init_lora_weights=" + value + " is not supported (true, false, \"gaussian\")");
  }

  private static List<Integer> tokenIds(List<?> ids) {
    return ids.stream().map(id -> ConfigJson.integer(id, "trainable_token_indices")).toList();
  }
}
