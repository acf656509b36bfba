package dev.peft4j.peft.prompt;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.peft.ConfigJson;
import java.util.Map;

/**
 * Reads {@code PROMPT_TUNING} and {@code P_TUNING} adapter_config.json files (PEFT's
 * {@code PromptTuningConfig}, {@code PromptEncoderConfig}) for loading: like PEFT's
 * {@code from_pretrained}, the config is put in inference mode, so no prompt is initialised and no
 * encoder is built — the saved embeddings are used.
 */
public final class PromptConfigJson {
  private PromptConfigJson() {}

  public static PromptTuningConfig parsePromptTuning(Map<String, Object> json, String source)
      throws ModelFormatException {
    try {
      String init = ConfigJson.string(json, "prompt_tuning_init");
      return PromptTuningConfig.builder().loadedFrom(json)
          .init(init == null ? PromptTuningConfig.PromptInit.RANDOM : PromptTuningConfig.PromptInit.valueOf(init))
          .recordedText(ConfigJson.string(json, "prompt_tuning_init_text"), ConfigJson.string(json, "tokenizer_name_or_path"))
          .build();
    } catch (IllegalArgumentException | ClassCastException e) {
      throw new ModelFormatException(source + ": " + e.getMessage(), e);
    }
  }

  public static PTuningConfig parsePTuning(Map<String, Object> json, String source) throws ModelFormatException {
    try {
      String type = ConfigJson.string(json, "encoder_reparameterization_type");
      PTuningConfig.Builder b = PTuningConfig.builder().loadedFrom(json)
          .encoderType(type == null ? PTuningConfig.EncoderType.MLP : PTuningConfig.EncoderType.valueOf(type))
          .encoderHiddenSize(ConfigJson.optionalInt(json, "encoder_hidden_size"))
          .encoderNumLayers(json.get("encoder_num_layers") == null ? 2 : ConfigJson.requiredInt(json, "encoder_num_layers"))
          .encoderDropout(ConfigJson.number(json, "encoder_dropout", 0));
      String template = ConfigJson.string(json, "template");
      if (template != null) {
        b.template(PromptTemplate.parse(template), ConfigJson.requiredInt(json, "pseudo_token_id"));
      }
      return b.build();
    } catch (IllegalArgumentException | ClassCastException e) {
      throw new ModelFormatException(source + ": " + e.getMessage(), e);
    }
  }
}
