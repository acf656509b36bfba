package dev.peft4j.peft.llamaadapter;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.peft.ConfigJson;
import java.util.Locale;
import java.util.Map;

/** Reads an {@code ADAPTION_PROMPT} adapter_config.json; PEFT's files (no {@code gate} key) have the scalar gate. */
public final class LlamaAdapterConfigJson {
  private LlamaAdapterConfigJson() {}

  public static LlamaAdapterConfig parse(Map<String, Object> json, String source) throws ModelFormatException {
    return ConfigJson.parse(source, () -> {
      String gate = ConfigJson.string(json, "gate");
      String target = ConfigJson.string(json, "target_modules");
      return LlamaAdapterConfig.builder()
          .targetModules(target == null ? "self_attn" : target)
          .adapterLen(ConfigJson.requiredInt(json, "adapter_len"))
          .adapterLayers(ConfigJson.requiredInt(json, "adapter_layers"))
          .gate(gate == null ? LlamaAdapterConfig.Gate.SCALAR : LlamaAdapterConfig.Gate.valueOf(gate.toUpperCase(Locale.ROOT)))
          .visualFeatureDim(ConfigJson.optionalInt(json, "visual_feature_dim"))
          .taskType(ConfigJson.taskType(json))
          .baseModelNameOrPath(ConfigJson.string(json, "base_model_name_or_path"))
          .inferenceMode(ConfigJson.bool(json, "inference_mode", false))
          .build();
    });
  }
}
