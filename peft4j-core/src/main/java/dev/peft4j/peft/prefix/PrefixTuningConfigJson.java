package dev.peft4j.peft.prefix;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.peft.ConfigJson;
import java.util.Map;

/**
 * Reads a {@code PREFIX_TUNING} adapter_config.json (PEFT's {@code PrefixTuningConfig}) for
 * loading: like PEFT's {@code from_pretrained}, the config is put in inference mode, so the saved
 * plain prefix is used (no MLP is built).
 */
public final class PrefixTuningConfigJson {
  private PrefixTuningConfigJson() {}

  public static PrefixTuningConfig parse(Map<String, Object> json, String source) throws ModelFormatException {
    try {
      Object init = json.get("init_weights");
      if (init != null && !"zero".equals(init)) {
        throw new IllegalArgumentException("init_weights must be null or \"zero\", got " + init);
      }
      Integer submodules = ConfigJson.optionalInt(json, "num_transformer_submodules");
      if (submodules != null && submodules != 1) {
        throw new IllegalArgumentException("num_transformer_submodules=" + submodules
            + " (an encoder-decoder model) is not supported");
      }
      return PrefixTuningConfig.builder()
          .numVirtualTokens(ConfigJson.requiredInt(json, "num_virtual_tokens"))
          .prefixProjection(ConfigJson.bool(json, "prefix_projection", false))
          .encoderHiddenSize(ConfigJson.optionalInt(json, "encoder_hidden_size"))
          .zeroInit(init != null)
          .dimensions(ConfigJson.optionalInt(json, "token_dim"), ConfigJson.optionalInt(json, "num_attention_heads"),
              ConfigJson.optionalInt(json, "num_layers"))
          .modulesToSave(ConfigJson.strings(json, "modules_to_save"))
          .taskType(ConfigJson.taskType(json))
          .baseModelNameOrPath(ConfigJson.string(json, "base_model_name_or_path"))
          .inferenceMode(true)
          .build();
    } catch (IllegalArgumentException | ClassCastException e) {
      throw new ModelFormatException(source + ": " + e.getMessage(), e);
    }
  }
}
