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
      return PrefixTuningConfig.builder().loadedFrom(json)
          .prefixProjection(ConfigJson.bool(json, "prefix_projection", false))
          .encoderHiddenSize(ConfigJson.optionalInt(json, "encoder_hidden_size"))
          .zeroInit(init != null)
          .build();
    } catch (IllegalArgumentException | ClassCastException e) {
      throw new ModelFormatException(source + ": " + e.getMessage(), e);
    }
  }
}
