package dev.peft4j.peft.vera;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.peft.ConfigJson;
import dev.peft4j.peft.ModuleSelector;
import java.util.Map;

/** Reads a VeRA {@code adapter_config.json}, refusing a {@code bias} other than "none". */
public final class VeraConfigJson {
  private VeraConfigJson() {}

  public static VeraConfig parse(Map<String, Object> json, String source) throws ModelFormatException {
    return ConfigJson.parse(source, () -> {
      Object bias = json.getOrDefault("bias", "none");
      if (!"none".equals(bias)) {
        throw new IllegalArgumentException("bias=" + bias + " is not supported for VeRA (only \"none\")");
      }
      Object targets = json.get("target_modules");
      return VeraConfig.builder()
          .r(ConfigJson.requiredInt(json, "r"))
          .targetModules(targets == null ? null : ModuleSelector.fromJson(targets))
          .projectionPrngKey(ConfigJson.integer(json.getOrDefault("projection_prng_key", 0), "projection_prng_key"))
          .saveProjection(ConfigJson.bool(json, "save_projection", true))
          .veraDropout(ConfigJson.number(json, "vera_dropout", 0))
          .dInitial(ConfigJson.number(json, "d_initial", 0.1))
          .fanInFanOut(ConfigJson.bool(json, "fan_in_fan_out", false))
          .modulesToSave(ConfigJson.strings(json, "modules_to_save"))
          .initWeights(ConfigJson.bool(json, "init_weights", true))
          .layersToTransform(ConfigJson.layersToTransform(json))
          .layersPattern(ConfigJson.layersPattern(json))
          .taskType(ConfigJson.taskType(json))
          .baseModelNameOrPath(ConfigJson.string(json, "base_model_name_or_path"))
          .inferenceMode(ConfigJson.bool(json, "inference_mode", false))
          .build();
    });
  }
}
