package dev.peft4j.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import dev.peft4j.io.HfConfig;
import dev.peft4j.io.ModelFormatException;
import dev.peft4j.nn.RopeScaling;

/**
 * The fields of a LLaMA-family {@code config.json} peft4j uses, with Hugging Face's defaults
 * ({@code LlamaConfig}, {@code MistralConfig}, {@code Qwen2Config}, {@code Qwen3Config} — same
 * math; Qwen2 has biases on q/k/v only, Qwen3 an RMSNorm over each head of q and k).
 *
 * @param modelType llama, mistral, qwen2 or qwen3
 * @param headDim {@code head_dim}, default hidden/heads (128 for qwen3)
 * @param maxPositions the context length: {@code max_position_embeddings}, or {@code sliding_window}
 *     if smaller (Mistral; Qwen2 with {@code use_sliding_window}), peft4j having no sliding window
 * @param qkvBias bias on q/k/v projections ({@code attention_bias}; always for qwen2)
 * @param outputBias bias on o_proj ({@code attention_bias}; never for qwen2)
 * @param qkNorm RMSNorm over each head of q and k before the rotation ({@code q_norm}, {@code k_norm}; qwen3)
 */
public record LlamaConfig(
    String modelType,
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    int maxPositions,
    double rmsNormEps,
    double ropeTheta,
    RopeScaling ropeScaling,
    boolean qkvBias,
    boolean outputBias,
    boolean mlpBias,
    boolean tieWordEmbeddings,
    boolean qkNorm) {

  /** Reads a llama/mistral/qwen2/qwen3 config with that model type's defaults. */
  public static LlamaConfig from(HfConfig c) throws ModelFormatException {
    String type = c.modelType();
    boolean qwen2 = type.equals("qwen2");
    boolean qwen3 = type.equals("qwen3");
    boolean qwen = qwen2 || qwen3;
    boolean mistral = type.equals("mistral");
    int hidden = c.getPositiveInt("hidden_size", 4096);
    int heads = c.getPositiveInt("num_attention_heads", 32);
    int kvHeads = c.getPositiveInt("num_key_value_heads", mistral ? 8 : heads);
    if (heads % kvHeads != 0) {
      throw new ModelFormatException(c.source() + ": num_attention_heads (" + heads
          + ") must be a multiple of num_key_value_heads (" + kvHeads + ")");
    }
    int headDim = c.getPositiveInt("head_dim", qwen3 ? 128 : hidden / heads);
    boolean attentionBias = c.getBool("attention_bias", false);
    double ropeTheta = c.getDouble("rope_theta", 10000.0);
    JsonNode ropeParameters = c.object("rope_parameters").orElse(null); // transformers v5 layout
    if (ropeParameters != null) {
      ropeTheta = c.number(ropeParameters, "rope_theta", ropeTheta);
    }
    return new LlamaConfig(
        type,
        c.getPositiveInt("vocab_size", qwen ? 151936 : 32000),
        hidden,
        c.getPositiveInt("intermediate_size", qwen ? 22016 : mistral ? 14336 : 11008),
        c.getPositiveInt("num_hidden_layers", 32),
        heads,
        kvHeads,
        headDim,
        contextLength(c, c.getPositiveInt("max_position_embeddings", qwen ? 32768 : mistral ? 4096 * 32 : 2048),
            mistral || qwen && c.getBool("use_sliding_window", false)),
        c.getDouble("rms_norm_eps", 1e-6),
        ropeTheta,
        ropeScaling(c, ropeParameters),
        qwen2 || attentionBias,
        !qwen2 && attentionBias,
        c.getBool("mlp_bias", false),
        c.getBool("tie_word_embeddings", false),
        qwen3);
  }

  /**
   * {@code max_position_embeddings}, capped at {@code sliding_window} (transformers' default 4096;
   * null for none) where transformers attends within one: peft4j attends to every earlier position,
   * which is the same up to the window only.
   */
  private static int contextLength(HfConfig c, int maxPositions, boolean slides) throws ModelFormatException {
    return slides && !c.isNull("sliding_window") ? Math.min(maxPositions, c.getPositiveInt("sliding_window", 4096))
        : maxPositions;
  }

  private static RopeScaling ropeScaling(HfConfig c, JsonNode ropeParameters) throws ModelFormatException {
    JsonNode s = c.object("rope_scaling").orElse(ropeParameters);
    if (s == null) {
      return new RopeScaling.None();
    }
    String type = s.hasNonNull("rope_type") ? s.get("rope_type").asText() : s.path("type").asText("default");
    switch (type) {
      case "default":
        return new RopeScaling.None();
      case "linear":
        return new RopeScaling.Linear(c.number(s, "factor", 1.0));
      case "llama3":
        return new RopeScaling.Llama3(
            c.number(s, "factor", 8.0),
            c.number(s, "low_freq_factor", 1.0),
            c.number(s, "high_freq_factor", 4.0),
            (long) c.number(s, "original_max_position_embeddings", 8192));
      default:
        throw new ModelFormatException(c.source() + ": rope_scaling type '" + type
            + "' is not supported (supported: default, linear, llama3)");
    }
  }
}
