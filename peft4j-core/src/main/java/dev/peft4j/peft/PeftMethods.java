package dev.peft4j.peft;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.peft.bottleneck.BottleneckAdapter;
import dev.peft4j.peft.bottleneck.BottleneckConfig;
import dev.peft4j.peft.bottleneck.BottleneckConfigJson;
import dev.peft4j.peft.ia3.Ia3Adapter;
import dev.peft4j.peft.ia3.Ia3Config;
import dev.peft4j.peft.ia3.Ia3ConfigJson;
import dev.peft4j.peft.llamaadapter.LlamaAdapter;
import dev.peft4j.peft.llamaadapter.LlamaAdapterConfig;
import dev.peft4j.peft.llamaadapter.LlamaAdapterConfigJson;
import dev.peft4j.peft.loha.LoHaAdapter;
import dev.peft4j.peft.loha.LoHaConfig;
import dev.peft4j.peft.loha.LoHaConfigJson;
import dev.peft4j.peft.lora.LoraAdapter;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.peft.lora.LoraConfigJson;
import dev.peft4j.peft.prefix.PrefixAdapter;
import dev.peft4j.peft.prefix.PrefixTuningConfig;
import dev.peft4j.peft.prefix.PrefixTuningConfigJson;
import dev.peft4j.peft.prompt.PTuningConfig;
import dev.peft4j.peft.prompt.PromptAdapter;
import dev.peft4j.peft.prompt.PromptConfigJson;
import dev.peft4j.peft.prompt.PromptTuningConfig;
import dev.peft4j.peft.tokens.TrainableTokensAdapter;
import dev.peft4j.peft.tokens.TrainableTokensConfig;
import dev.peft4j.peft.tokens.TrainableTokensConfigJson;
import dev.peft4j.peft.union.ConfigUnion;
import dev.peft4j.peft.union.UnionAdapter;
import dev.peft4j.peft.vera.VeraAdapter;
import dev.peft4j.peft.vera.VeraConfig;
import dev.peft4j.peft.vera.VeraConfigJson;
import java.util.Map;

/**
 * The registry of PEFT methods: one entry per {@code peft_type}, connecting its config class, its
 * adapter_config.json parser and the adapter that attaches it to a model. A new method adds one
 * case to {@link #attach} and one to {@link #parse}.
 */
final class PeftMethods {
  private PeftMethods() {}

  static Adapter attach(PretrainedModel model, PeftConfig config, String name, AdapterControl control) {
    String base = baseName(config, model);
    if (config instanceof LoraConfig) {
      return LoraAdapter.attach(model, ((LoraConfig) config).withBaseModel(base), name, control);
    }
    if (config instanceof Ia3Config) {
      return Ia3Adapter.attach(model, ((Ia3Config) config).withBaseModel(base), name, control);
    }
    if (config instanceof LoHaConfig) {
      return LoHaAdapter.attach(model, ((LoHaConfig) config).withBaseModel(base), name, control);
    }
    if (config instanceof VeraConfig) {
      return VeraAdapter.attach(model, ((VeraConfig) config).withBaseModel(base), name, control);
    }
    if (config instanceof TrainableTokensConfig) {
      return TrainableTokensAdapter.attach(model, ((TrainableTokensConfig) config).withBaseModel(base), name, control);
    }
    if (config instanceof BottleneckConfig) {
      return BottleneckAdapter.attach(model, ((BottleneckConfig) config).withBaseModel(base), name, control);
    }
    if (config instanceof PrefixTuningConfig) {
      return PrefixAdapter.attach(model, ((PrefixTuningConfig) config).withBaseModel(base), name, control);
    }
    if (config instanceof PromptTuningConfig) {
      return PromptAdapter.attach(model, ((PromptTuningConfig) config).withBaseModel(base), name, control);
    }
    if (config instanceof PTuningConfig) {
      return PromptAdapter.attach(model, ((PTuningConfig) config).withBaseModel(base), name, control);
    }
    if (config instanceof LlamaAdapterConfig) {
      return LlamaAdapter.attach(model, ((LlamaAdapterConfig) config).withBaseModel(base), name, control);
    }
    if (config instanceof ConfigUnion) {
      return attachUnion(model, (ConfigUnion) config, name, control);
    }
    throw new IllegalArgumentException("unsupported PEFT config " + config.getClass().getName());
  }

  /** Attaches every part under the same name and control; a failing part detaches the ones before it. */
  private static Adapter attachUnion(PretrainedModel model, ConfigUnion union, String name, AdapterControl control) {
    java.util.List<Adapter> parts = new java.util.ArrayList<>();
    try {
      for (PeftConfig part : union.parts()) {
        parts.add(attach(model, part, name, control));
      }
      return new UnionAdapter(union.withParts(parts.stream().map(Adapter::config).toList()), parts);
    } catch (RuntimeException e) {
      parts.forEach(Adapter::unload);
      throw e;
    }
  }

  private static String baseName(PeftConfig config, PretrainedModel model) {
    return config.baseModelNameOrPath() != null ? config.baseModelNameOrPath() : model.sourceName();
  }

  /** Parses {@code adapter_config.json} for its {@code peft_type}. */
  static PeftConfig parse(Map<String, Object> json, String source) throws ModelFormatException {
    Object type = json.get("peft_type");
    if ("LORA".equals(type)) {
      return LoraConfigJson.parse(json, source);
    }
    if (Ia3Config.PEFT_TYPE.equals(type)) {
      return Ia3ConfigJson.parse(json, source);
    }
    if (LoHaConfig.PEFT_TYPE.equals(type)) {
      return LoHaConfigJson.parse(json, source);
    }
    if (VeraConfig.PEFT_TYPE.equals(type)) {
      return VeraConfigJson.parse(json, source);
    }
    if (TrainableTokensConfig.PEFT_TYPE.equals(type)) {
      return TrainableTokensConfigJson.parse(json, source);
    }
    if (BottleneckConfig.PEFT_TYPE.equals(type)) {
      return BottleneckConfigJson.parse(json, source);
    }
    if ("PREFIX_TUNING".equals(type)) {
      return PrefixTuningConfigJson.parse(json, source);
    }
    if ("PROMPT_TUNING".equals(type)) {
      return PromptConfigJson.parsePromptTuning(json, source);
    }
    if ("P_TUNING".equals(type)) {
      return PromptConfigJson.parsePTuning(json, source);
    }
    if ("ADAPTION_PROMPT".equals(type)) {
      return LlamaAdapterConfigJson.parse(json, source);
    }
    if (ConfigUnion.UNION.equals(type) || ConfigUnion.MAM.equals(type)) {
      return parseUnion(json, (String) type, source);
    }
    throw new ModelFormatException(source + ": peft_type " + (type == null ? "is missing" : "'" + type
        + "' is not supported (supported: LORA, " + Ia3Config.PEFT_TYPE + ", " + LoHaConfig.PEFT_TYPE + ", " + VeraConfig.PEFT_TYPE + ", "
        + TrainableTokensConfig.PEFT_TYPE + ", "
        + BottleneckConfig.PEFT_TYPE
        + ", PREFIX_TUNING, PROMPT_TUNING, P_TUNING, ADAPTION_PROMPT, MAM, UNION)"));
  }

  @SuppressWarnings("unchecked")
  private static ConfigUnion parseUnion(Map<String, Object> json, String type, String source) throws ModelFormatException {
    Object configs = json.get("configs");
    if (!(configs instanceof java.util.List)) {
      throw new ModelFormatException(source + ": a " + type + " adapter needs a \"configs\" list");
    }
    java.util.List<PeftConfig> parts = new java.util.ArrayList<>();
    for (Object part : (java.util.List<Object>) configs) {
      if (!(part instanceof Map)) {
        throw new ModelFormatException(source + ": every entry of \"configs\" must be an object");
      }
      parts.add(parse((Map<String, Object>) part, source));
    }
    try {
      return new ConfigUnion(parts, type);
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(source + ": " + e.getMessage(), e);
    }
  }
}
