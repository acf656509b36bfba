package dev.peft4j.peft.prompt;

import dev.peft4j.peft.PromptLearningConfig;
import dev.peft4j.peft.PromptLearningBuilder;
import dev.peft4j.peft.TaskType;
import java.util.List;
import java.util.Map;

/**
 * P-tuning (Liu et al. 2021, "GPT Understands, Too"): V pseudo-token embeddings produced by a
 * prompt encoder, {@code h = MLP(BiLSTM(e))} (their eq. 3) or an MLP alone, placed in front of
 * the input (PEFT) or at the positions of a {@link PromptTemplate} ({@code [P0..Pi] x [Pi+1..Pm] y}).
 * After training the encoder is run once and only its output is saved. Field names, meanings and
 * defaults are Hugging Face PEFT's {@code PromptEncoderConfig}; {@code template} and
 * {@code pseudo_token_id} are peft4j's additions, written only when a template is used.
 *
 * @param numVirtualTokens V, > 0
 * @param encoderType the prompt encoder (PEFT's {@code encoder_reparameterization_type}, default MLP)
 * @param encoderHiddenSize the encoder's hidden width, > 0; null means {@code tokenDim} (PEFT)
 * @param encoderNumLayers LSTM layers (default 2); the MLP always has PEFT's three Linear layers
 * @param encoderDropout dropout between LSTM layers while training, in [0, 1)
 * @param template where the pseudo tokens go; null to prepend them (PEFT)
 * @param pseudoTokenId with a template: the token id that marks pseudo-token positions in the input ids
 * @param tokenDim width of the input embeddings; filled from the model
 * @param numAttentionHeads recorded; filled from the model
 * @param numLayers recorded; filled from the model
 * @param modulesToSave extra modules trained fully and saved with the adapter; null for none
 * @param taskType what the model is used for; may be null
 * @param baseModelNameOrPath the base model, recorded; may be null
 * @param inferenceMode true when loaded from a file: no encoder is built, the saved embeddings are used
 */
public record PTuningConfig(
    int numVirtualTokens,
    EncoderType encoderType,
    Integer encoderHiddenSize,
    int encoderNumLayers,
    double encoderDropout,
    PromptTemplate template,
    Integer pseudoTokenId,
    Integer tokenDim,
    Integer numAttentionHeads,
    Integer numLayers,
    List<String> modulesToSave,
    TaskType taskType,
    String baseModelNameOrPath,
    boolean inferenceMode) implements PromptLearningConfig {

  /** PEFT's {@code PromptEncoderReparameterizationType}. */
  public enum EncoderType {
    /** Linear → ReLU → Linear → ReLU → Linear. */
    MLP,
    /** Bidirectional LSTM → Linear → ReLU → Linear (the paper's encoder). */
    LSTM
  }

  public PTuningConfig {
    if (numVirtualTokens <= 0) {
      throw new IllegalArgumentException("num_virtual_tokens must be positive, got " + numVirtualTokens);
    }
    if (encoderHiddenSize != null && encoderHiddenSize <= 0) {
      throw new IllegalArgumentException("encoder_hidden_size must be positive, got " + encoderHiddenSize);
    }
    if (encoderNumLayers <= 0) {
      throw new IllegalArgumentException("encoder_num_layers must be positive, got " + encoderNumLayers);
    }
    if (!(encoderDropout >= 0 && encoderDropout < 1)) {
      throw new IllegalArgumentException("encoder_dropout must be in [0, 1), got " + encoderDropout);
    }
    if (template != null) {
      if (template.pseudoTokens() != numVirtualTokens) {
        throw new IllegalArgumentException("template '" + template + "' places " + template.pseudoTokens()
            + " pseudo tokens but num_virtual_tokens is " + numVirtualTokens);
      }
      if (pseudoTokenId == null || pseudoTokenId < 0) {
        throw new IllegalArgumentException("a template needs pseudo_token_id, the token id that marks its pseudo tokens");
      }
    }
    modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
  }

  public static Builder builder() {
    return new Builder();
  }

  PTuningConfig applied(int tokenDim, int heads, int layers) {
    return new PTuningConfig(numVirtualTokens, encoderType, encoderHiddenSize, encoderNumLayers, encoderDropout,
        template, pseudoTokenId, tokenDim, heads, layers, modulesToSave, taskType, baseModelNameOrPath, inferenceMode);
  }

  /** This config recording the base model it is applied to. */
  public PTuningConfig withBaseModel(String base) {
    return new PTuningConfig(numVirtualTokens, encoderType, encoderHiddenSize, encoderNumLayers, encoderDropout,
        template, pseudoTokenId, tokenDim, numAttentionHeads, numLayers, modulesToSave, taskType, base, inferenceMode);
  }

  /** The encoder's hidden width: {@code encoderHiddenSize}, or {@code tokenDim} when unset. */
  int hiddenSize() {
    return encoderHiddenSize != null ? encoderHiddenSize : tokenDim;
  }

  @Override
  public String peftType() {
    return "P_TUNING";
  }

  /** Every key PEFT's {@code PromptEncoderConfig.to_dict()} writes (src/peft/tuners/p_tuning/config.py, src/peft/config.py). */
  @Override
  public Map<String, Object> toJsonMap() {
    Map<String, Object> m = promptLearningJson();
    m.put("encoder_dropout", encoderDropout);
    m.put("encoder_hidden_size", encoderHiddenSize == null ? tokenDim : encoderHiddenSize);
    m.put("encoder_num_layers", encoderNumLayers);
    m.put("encoder_reparameterization_type", encoderType.name());
    if (template != null) {
      m.put("pseudo_token_id", pseudoTokenId);
      m.put("template", template.toString());
    }
    return m;
  }

  /** Builds a {@link PTuningConfig}: MLP encoder, 2 layers, no dropout, prefix placement; {@code numVirtualTokens} is required. */
  public static final class Builder extends PromptLearningBuilder<Builder> {
    private EncoderType encoderType = EncoderType.MLP;
    private Integer encoderHiddenSize;
    private int encoderNumLayers = 2;
    private double encoderDropout;
    private PromptTemplate template;
    private Integer pseudoTokenId;

    private Builder() {}

    public Builder encoderType(EncoderType value) {
      encoderType = value;
      return this;
    }

    /** Null: {@code tokenDim}, as PEFT. */
    public Builder encoderHiddenSize(Integer value) {
      encoderHiddenSize = value;
      return this;
    }

    public Builder encoderNumLayers(int value) {
      encoderNumLayers = value;
      return this;
    }

    public Builder encoderDropout(double value) {
      encoderDropout = value;
      return this;
    }

    /** Places the pseudo tokens by {@code template}; input ids mark them with {@code pseudoTokenId}. */
    public Builder template(PromptTemplate template, int pseudoTokenId) {
      this.template = template;
      this.pseudoTokenId = pseudoTokenId;
      return this;
    }

    public PTuningConfig build() {
      return new PTuningConfig(requiredNumVirtualTokens(), encoderType, encoderHiddenSize, encoderNumLayers, encoderDropout,
          template, pseudoTokenId, tokenDim, numAttentionHeads, numLayers, modulesToSave, taskType,
          baseModelNameOrPath, inferenceMode);
    }
  }
}
