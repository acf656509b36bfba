package dev.peft4j.peft.tokens;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.peft.ConfigJson;
import dev.peft4j.peft.ModuleSelector;
import java.util.List;
import java.util.Map;

/** Reads a {@code TRAINABLE_TOKENS} {@code adapter_config.json}. */
public final class TrainableTokensConfigJson {
  private TrainableTokensConfigJson() {}

  public static TrainableTokensConfig parse(Map<String, Object> json, String source) throws ModelFormatException {
    return ConfigJson.parse(source, () -> {
      Object ids = json.get("token_indices");
      if (!(ids instanceof List<?> list)) {
        throw new IllegalArgumentException("token_indices must be a list of token ids, got " + ids);
      }
      Object targets = json.get("target_modules");
      return new TrainableTokensConfig(list.stream().map(id -> ConfigJson.integer(id, "token_indices")).toList(),
          targets == null ? null : ModuleSelector.fromJson(targets), ConfigJson.bool(json, "init_weights", true),
          ConfigJson.taskType(json), ConfigJson.string(json, "base_model_name_or_path"),
          ConfigJson.bool(json, "inference_mode", false));
    });
  }
}
