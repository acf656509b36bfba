package dev.peft4j.peft.loha;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.peft.ConfigJson;
import dev.peft4j.peft.ModuleSelector;
import java.util.Map;

/** Reads a LoHa {@code adapter_config.json}. */
public final class LoHaConfigJson {
  private LoHaConfigJson() {}

  public static LoHaConfig parse(Map<String, Object> json, String source) throws ModelFormatException {
    return ConfigJson.parse(source, () -> {
      Object targets = json.get("target_modules");
      Object exclude = json.get("exclude_modules");
      return LoHaConfig.builder()
          .r(ConfigJson.requiredInt(json, "r"))
          .alpha(ConfigJson.number(json, "alpha", 8))
          .rankDropout(ConfigJson.number(json, "rank_dropout", 0))
          .moduleDropout(ConfigJson.number(json, "module_dropout", 0))
          .targetModules(targets == null ? null : ModuleSelector.fromJson(targets))
          .excludeModules(exclude == null ? null : ModuleSelector.fromJson(exclude))
          .initWeights(ConfigJson.bool(json, "init_weights", true))
          .layersToTransform(ConfigJson.layersToTransform(json))
          .layersPattern(ConfigJson.layersPattern(json))
          .rankPattern(ConfigJson.rankPattern(json))
          .alphaPattern(ConfigJson.alphaPattern(json))
          .modulesToSave(ConfigJson.strings(json, "modules_to_save"))
          .taskType(ConfigJson.taskType(json))
          .baseModelNameOrPath(ConfigJson.string(json, "base_model_name_or_path"))
          .inferenceMode(ConfigJson.bool(json, "inference_mode", false))
          .build();
    });
  }
}
