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
      checkSubmodules(json);
      String init = ConfigJson.string(json, "prompt_tuning_init");
      return PromptTuningConfig.builder()
          .numVirtualTokens(ConfigJson.requiredInt(json, "num_virtual_tokens"))
          .init(init == null ? PromptTuningConfig.PromptInit.RANDOM : PromptTuningConfig.PromptInit.valueOf(init))
          .recordedText(ConfigJson.string(json, "prompt_tuning_init_text"), ConfigJson.string(json, "tokenizer_name_or_path"))
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

  public static PTuningConfig parsePTuning(Map<String, Object> json, String source) throws ModelFormatException {
    try {
      checkSubmodules(json);
      String type = ConfigJson.string(json, "encoder_reparameterization_type");
      PTuningConfig.Builder b = PTuningConfig.builder()
          .numVirtualTokens(ConfigJson.requiredInt(json, "num_virtual_tokens"))
          .encoderType(type == null ? PTuningConfig.EncoderType.MLP : PTuningConfig.EncoderType.valueOf(type))
          .encoderHiddenSize(ConfigJson.optionalInt(json, "encoder_hidden_size"))
          .encoderNumLayers(json.get("encoder_num_layers") == null ? 2 : ConfigJson.requiredInt(json, "encoder_num_layers"))
          .encoderDropout(ConfigJson.number(json, "encoder_dropout", 0))
          .dimensions(ConfigJson.optionalInt(json, "token_dim"), ConfigJson.optionalInt(json, "num_attention_heads"),
              ConfigJson.optionalInt(json, "num_layers"))
          .modulesToSave(ConfigJson.strings(json, "modules_to_save"))
          .taskType(ConfigJson.taskType(json))
          .baseModelNameOrPath(ConfigJson.string(json, "base_model_name_or_path"))
          .inferenceMode(true);
      String template = ConfigJson.string(json, "template");
      if (template != null) {
        b.template(PromptTemplate.parse(template), ConfigJson.requiredInt(json, "pseudo_token_id"));
      }
      return b.build();
    } catch (IllegalArgumentException | ClassCastException e) {
      throw new ModelFormatException(source + ": " + e.getMessage(), e);
    }
  }

  private static void checkSubmodules(Map<String, Object> json) {
    Integer submodules = ConfigJson.optionalInt(json, "num_transformer_submodules");
    if (submodules != null && submodules != 1) {
      throw new IllegalArgumentException("num_transformer_submodules=" + submodules
          + " (an encoder-decoder model) is not supported");
    }
  }
}
