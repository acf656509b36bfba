package dev.peft4j.peft.ia3;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.peft.ConfigJson;
import dev.peft4j.peft.ModuleSelector;
import java.util.Map;

/** Reads an (IA)³ {@code adapter_config.json}. */
public final class Ia3ConfigJson {
  private Ia3ConfigJson() {}

  public static Ia3Config parse(Map<String, Object> json, String source) throws ModelFormatException {
    return ConfigJson.parse(source, () -> {
      return Ia3Config.builder()
          .targetModules(selector(json, "target_modules"))
          .excludeModules(selector(json, "exclude_modules"))
          .feedforwardModules(selector(json, "feedforward_modules"))
          .fanInFanOut(ConfigJson.bool(json, "fan_in_fan_out", false))
          .modulesToSave(ConfigJson.strings(json, "modules_to_save"))
          .initIa3Weights(ConfigJson.bool(json, "init_ia3_weights", true))
          .taskType(ConfigJson.taskType(json))
          .baseModelNameOrPath(ConfigJson.string(json, "base_model_name_or_path"))
          .inferenceMode(ConfigJson.bool(json, "inference_mode", false))
          .build();
    });
  }

  private static ModuleSelector selector(Map<String, Object> json, String key) {
    Object value = json.get(key);
    return value == null ? null : ModuleSelector.fromJson(value);
  }
}
