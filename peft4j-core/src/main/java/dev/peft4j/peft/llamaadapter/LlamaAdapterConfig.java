package dev.peft4j.peft.llamaadapter;

import dev.peft4j.peft.ConfigJson;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.TaskType;
import java.util.List;
import java.util.Map;

/**
 * LLaMA-Adapter (Zhang et al. 2023): in each of the top L layers, K trainable adaption prompts
 * [1, K, hidden] whose keys and values come from the layer's frozen k/v projections without
 * rotary positions; the queries attend to them in a separate softmax whose result is scaled by a
 * zero-initialised gate and added to the attention output (their eq. 6–8):
 * {@code out = softmax(q Kᵀ/√d) V + g · softmax(q K_pᵀ/√d) V_p}, so the model starts exactly as the
 * base. Multimodal: a (precomputed) image feature goes through a trainable projection and is added
 * to every adaption prompt (their §3.3). Field names are Hugging Face PEFT's {@code AdaptionPromptConfig};
 * {@code gate} and {@code visual_feature_dim} are peft4j's additions, written only when not PEFT's
 * defaults (scalar gate, no image).
 *
 * @param targetModules name of the attention modules (PEFT: {@code self_attn} for llama)
 * @param adapterLen K, adaption prompt tokens per layer, > 0
 * @param adapterLayers L, adapted layers counted from the top, > 0
 * @param gate the gate's form
 * @param visualFeatureDim width of the image feature vector (several scales concatenated), or
 *     null for text only
 * @param taskType what the model is used for; may be null
 * @param baseModelNameOrPath the base model, recorded; may be null
 * @param inferenceMode recorded
 */
public record LlamaAdapterConfig(
    String targetModules,
    int adapterLen,
    int adapterLayers,
    Gate gate,
    Integer visualFeatureDim,
    TaskType taskType,
    String baseModelNameOrPath,
    boolean inferenceMode) implements PeftConfig {

  /** How the separate attention is scaled. */
  public enum Gate {
    /** One gate per head through tanh, {@code tanh(g_h)}, shape [1, heads, 1, 1] (the official training code). */
    PER_HEAD_TANH,
    /** One scalar {@code g} without tanh, shape [1] (Hugging Face PEFT's {@code adaption_gate}). */
    SCALAR
  }

  public LlamaAdapterConfig {
    if (adapterLen <= 0) {
      throw new IllegalArgumentException("adapter_len must be positive, got " + adapterLen);
    }
    if (adapterLayers <= 0) {
      throw new IllegalArgumentException("adapter_layers must be positive, got " + adapterLayers);
    }
    if (visualFeatureDim != null && visualFeatureDim <= 0) {
      throw new IllegalArgumentException("visual_feature_dim must be positive, got " + visualFeatureDim);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** This config recording the base model it is applied to. */
  public LlamaAdapterConfig withBaseModel(String base) {
    return new LlamaAdapterConfig(targetModules, adapterLen, adapterLayers, gate, visualFeatureDim, taskType, base,
        inferenceMode);
  }

  @Override
  public String peftType() {
    return "ADAPTION_PROMPT";
  }

  @Override
  public List<String> modulesToSave() {
    return null; // AdaptionPromptConfig has no modules_to_save
  }

  /** Every key PEFT's {@code AdaptionPromptConfig.to_dict()} writes (src/peft/tuners/adaption_prompt/config.py, src/peft/config.py). */
  @Override
  public Map<String, Object> toJsonMap() {
    Map<String, Object> m = ConfigJson.base(peftType(), taskType, baseModelNameOrPath, inferenceMode);
    m.put("adapter_layers", adapterLayers);
    m.put("adapter_len", adapterLen);
    m.put("target_modules", targetModules);
    if (gate != Gate.SCALAR) {
      m.put("gate", gate.name().toLowerCase(java.util.Locale.ROOT));
    }
    if (visualFeatureDim != null) {
      m.put("visual_feature_dim", visualFeatureDim);
    }
    return m;
  }

  /** Builds a {@link LlamaAdapterConfig}: self_attn, per-head tanh gate, text only; length and layers are required. */
  public static final class Builder {
    private String targetModules = "self_attn";
    private Integer adapterLen;
    private Integer adapterLayers;
    private Gate gate = Gate.PER_HEAD_TANH;
    private Integer visualFeatureDim;
    private TaskType taskType;
    private String baseModelNameOrPath;
    private boolean inferenceMode;

    private Builder() {}

    public Builder targetModules(String value) {
      targetModules = value;
      return this;
    }

    public Builder adapterLen(int value) {
      adapterLen = value;
      return this;
    }

    public Builder adapterLayers(int value) {
      adapterLayers = value;
      return this;
    }

    public Builder gate(Gate value) {
      gate = value;
      return this;
    }

    public Builder visualFeatureDim(Integer value) {
      visualFeatureDim = value;
      return this;
    }

    public Builder taskType(TaskType value) {
      taskType = value;
      return this;
    }

    public Builder baseModelNameOrPath(String value) {
      baseModelNameOrPath = value;
      return this;
    }

    public Builder inferenceMode(boolean value) {
      inferenceMode = value;
      return this;
    }

    public LlamaAdapterConfig build() {
      if (adapterLen == null || adapterLayers == null) {
        throw new IllegalArgumentException("adapter_len and adapter_layers must be set");
      }
      return new LlamaAdapterConfig(targetModules, adapterLen, adapterLayers, gate, visualFeatureDim, taskType,
          baseModelNameOrPath, inferenceMode);
    }
  }
}
