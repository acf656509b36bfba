package dev.peft4j.peft.prefix;

import dev.peft4j.peft.PromptLearningConfig;
import dev.peft4j.peft.PromptLearningBuilder;
import dev.peft4j.peft.TaskType;
import java.util.List;
import java.util.Map;

/**
 * Prefix tuning (Li &amp; Liang 2021): in every layer, {@code P} trainable key and value vectors are
 * prepended to the layer's own, so each query attends over {@code [Pₖ; K]} in one softmax:
 * {@code softmax(q [Pₖ; K]ᵀ/√d) [Pᵥ; V]} (their eq. 3 in the attention form of He et al. 2022).
 * All layers' prefixes are one matrix {@code [P, layers·2·kvDim]} — PEFT's {@code prompt_embeddings}.
 * Trained through the reparameterisation {@code P = MLP(P')} = Linear(tanh(Linear(P'))) (their
 * §4.3) when {@code prefixProjection}; the MLP is folded into the plain matrix when saved.
 * Field names and meanings are Hugging Face PEFT's {@code PrefixTuningConfig}.
 *
 * @param numVirtualTokens P, prefix positions per layer, > 0
 * @param prefixProjection train through the MLP reparameterisation (default false, as PEFT: with
 *     Adam at prefix-tuning learning rates such as 5e-3 the 2.4M-parameter MLP of a 6-layer model
 *     drifts too fast; the paper's rates are ~5e-5)
 * @param encoderHiddenSize hidden width of the MLP, > 0 (builder default 512, as the paper); null
 *     means {@code tokenDim} (PEFT's default)
 * @param zeroInit PEFT's {@code init_weights="zero"}: the prefix (or the MLP's last layer) starts at
 *     zero; otherwise N(0, 1) as {@code torch.nn.Embedding}
 * @param tokenDim key/value width of a layer, {@code kvHeads · headDim} (PEFT sets this for
 *     grouped-query attention); null until attached, then filled from the model
 * @param numAttentionHeads key/value heads; filled from the model
 * @param numLayers layers; filled from the model
 * @param modulesToSave extra modules trained fully and saved with the adapter; null for none
 * @param taskType what the model is used for; may be null
 * @param baseModelNameOrPath the base model, recorded; may be null
 * @param inferenceMode recorded (PEFT loads with the plain prefix when true)
 */
public record PrefixTuningConfig(
    int numVirtualTokens,
    boolean prefixProjection,
    Integer encoderHiddenSize,
    boolean zeroInit,
    Integer tokenDim,
    Integer numAttentionHeads,
    Integer numLayers,
    List<String> modulesToSave,
    TaskType taskType,
    String baseModelNameOrPath,
    boolean inferenceMode) implements PromptLearningConfig {

  public PrefixTuningConfig {
    if (numVirtualTokens <= 0) {
      throw new IllegalArgumentException("num_virtual_tokens must be positive, got " + numVirtualTokens);
    }
    if (encoderHiddenSize != null && encoderHiddenSize <= 0) {
      throw new IllegalArgumentException("encoder_hidden_size must be positive, got " + encoderHiddenSize);
    }
    modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** This config with the model's dimensions filled in. */
  PrefixTuningConfig applied(int tokenDim, int heads, int layers) {
    return new PrefixTuningConfig(numVirtualTokens, prefixProjection, encoderHiddenSize, zeroInit, tokenDim, heads,
        layers, modulesToSave, taskType, baseModelNameOrPath, inferenceMode);
  }

  /** This config recording the base model it is applied to. */
  public PrefixTuningConfig withBaseModel(String base) {
    return new PrefixTuningConfig(numVirtualTokens, prefixProjection, encoderHiddenSize, zeroInit, tokenDim,
        numAttentionHeads, numLayers, modulesToSave, taskType, base, inferenceMode);
  }

  /** The MLP's hidden width: {@code encoderHiddenSize}, or {@code tokenDim} when unset. */
  int hiddenSize() {
    return encoderHiddenSize != null ? encoderHiddenSize : tokenDim;
  }

  @Override
  public String peftType() {
    return "PREFIX_TUNING";
  }

  /** Every key PEFT's {@code PrefixTuningConfig.to_dict()} writes (src/peft/tuners/prefix_tuning/config.py, src/peft/config.py). */
  @Override
  public Map<String, Object> toJsonMap() {
    Map<String, Object> m = promptLearningJson();
    m.put("encoder_hidden_size", encoderHiddenSize == null ? tokenDim : encoderHiddenSize);
    m.put("init_weights", zeroInit ? "zero" : null);
    m.put("prefix_projection", prefixProjection);
    return m;
  }

  /** Builds a {@link PrefixTuningConfig}; {@code numVirtualTokens} is required. */
  public static final class Builder extends PromptLearningBuilder<Builder> {
    private boolean prefixProjection;
    private Integer encoderHiddenSize = 512;
    private boolean zeroInit;

    private Builder() {}

    public Builder prefixProjection(boolean value) {
      prefixProjection = value;
      return this;
    }

    /** Null: {@code tokenDim}, as PEFT. */
    public Builder encoderHiddenSize(Integer value) {
      encoderHiddenSize = value;
      return this;
    }

    public Builder zeroInit(boolean value) {
      zeroInit = value;
      return this;
    }

    /** @throws IllegalArgumentException if num_virtual_tokens is unset or a value is out of range */
    public PrefixTuningConfig build() {
      return new PrefixTuningConfig(requiredNumVirtualTokens(), prefixProjection, encoderHiddenSize, zeroInit, tokenDim,
          numAttentionHeads, numLayers, modulesToSave, taskType, baseModelNameOrPath, inferenceMode);
    }
  }
}
