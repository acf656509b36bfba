package dev.peft4j.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import dev.peft4j.io.HfConfig;
import dev.peft4j.io.ModelFormatException;
import dev.peft4j.nn.Activation;
import dev.peft4j.nn.RopeScaling;
import java.util.ArrayList;
import java.util.List;

/**
 * The fields of a LLaMA-family {@code config.json} peft4j uses, with Hugging Face's defaults
 * ({@code LlamaConfig}, {@code MistralConfig}, {@code Qwen2Config}, {@code Qwen3Config},
 * {@code Gemma3TextConfig} — same math; Qwen2 has biases on q/k/v only, Qwen3 an RMSNorm over each
 * head of q and k, Gemma 3 what {@link Gemma3} lists).
 *
 * @param modelType llama, mistral, qwen2, qwen3 or gemma3_text
 * @param headDim {@code head_dim}, default hidden/heads (128 for qwen3)
 * @param maxPositions the context length: {@code max_position_embeddings}, or {@code sliding_window}
 *     if smaller (Mistral; Qwen2 with {@code use_sliding_window}), whose window peft4j does not implement
 *     (Gemma 3's it does)
 * @param qkvBias bias on q/k/v projections ({@code attention_bias}; always for qwen2)
 * @param outputBias bias on o_proj ({@code attention_bias}; never for qwen2)
 * @param qkNorm RMSNorm over each head of q and k before the rotation ({@code q_norm}, {@code k_norm}; qwen3, gemma3_text)
 * @param activation the gate's activation in the MLP ({@code hidden_act}: silu; Gemma's
 *     {@code hidden_activation}: gelu_pytorch_tanh)
 * @param gemma3 what Gemma 3 changes, or null for the other model types
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
    boolean qkNorm,
    Activation activation,
    Gemma3 gemma3) {

  /**
   * What Gemma 3 ({@code gemma3_text}; Gemma Team 2025) changes in the LLaMA block: every RMSNorm
   * scales by {@code 1 + w}; the attention and MLP outputs are normalised again before their
   * residual additions ({@code post_attention_layernorm}, {@code post_feedforward_layernorm}; the
   * MLP's input norm is {@code pre_feedforward_layernorm}); and:
   *
   * @param embedScale the token embeddings are multiplied by √hidden (rounded to the weights' dtype)
   * @param attentionScale the softmax scale, {@code query_pre_attn_scalar}^-1/2
   * @param slidingWindow how many positions a sliding layer's query sees, its own included
   * @param slidingLayers for each layer whether it attends within the window ({@code
   *     sliding_attention}) or to every position ({@code full_attention})
   * @param localRopeTheta rope θ of the sliding layers ({@code rope_local_base_freq}); the full
   *     layers use {@link #ropeTheta} and {@link #ropeScaling}
   * @param finalLogitSoftcap the logits become {@code cap · tanh(logits / cap)}; null for none
   */
  public record Gemma3(double embedScale, double attentionScale, int slidingWindow, List<Boolean> slidingLayers,
      double localRopeTheta, Double finalLogitSoftcap) {
    public Gemma3 {
      slidingLayers = List.copyOf(slidingLayers);
    }
  }

  /** Reads a llama/mistral/qwen2/qwen3/gemma3_text config with that model type's defaults. */
  public static LlamaConfig from(HfConfig c) throws ModelFormatException {
    String type = c.modelType();
    boolean qwen2 = type.equals("qwen2");
    boolean qwen3 = type.equals("qwen3");
    boolean qwen = qwen2 || qwen3;
    boolean mistral = type.equals("mistral");
    boolean gemma3 = type.equals("gemma3_text");
    int hidden = c.getPositiveInt("hidden_size", gemma3 ? 2304 : 4096);
    int heads = c.getPositiveInt("num_attention_heads", gemma3 ? 8 : 32);
    int kvHeads = c.getPositiveInt("num_key_value_heads", mistral ? 8 : gemma3 ? 4 : heads);
    if (heads % kvHeads != 0) {
      throw new ModelFormatException(c.source() + ": num_attention_heads (" + heads
          + ") must be a multiple of num_key_value_heads (" + kvHeads + ")");
    }
    int headDim = c.getPositiveInt("head_dim", qwen3 ? 128 : gemma3 ? 256 : hidden / heads);
    int layers = c.getPositiveInt("num_hidden_layers", gemma3 ? 26 : 32);
    boolean attentionBias = c.getBool("attention_bias", false);
    double ropeTheta = c.getDouble("rope_theta", gemma3 ? 1_000_000.0 : 10000.0);
    JsonNode ropeParameters = c.object("rope_parameters").orElse(null); // transformers v5 layout
    if (gemma3 && ropeParameters != null) { // one set per layer type; the full layers' is the model's
      ropeParameters = ropeParameters.path("full_attention").isObject() ? ropeParameters.get("full_attention") : null;
    }
    if (ropeParameters != null) {
      ropeTheta = c.number(ropeParameters, "rope_theta", ropeTheta);
    }
    return new LlamaConfig(
        type,
        c.getPositiveInt("vocab_size", qwen ? 151936 : gemma3 ? 262208 : 32000),
        hidden,
        c.getPositiveInt("intermediate_size", qwen ? 22016 : mistral ? 14336 : gemma3 ? 9216 : 11008),
        layers,
        heads,
        kvHeads,
        headDim,
        contextLength(c, c.getPositiveInt("max_position_embeddings",
            qwen ? 32768 : mistral ? 4096 * 32 : gemma3 ? 131072 : 2048),
            mistral || qwen && c.getBool("use_sliding_window", false)),
        c.getDouble("rms_norm_eps", 1e-6),
        ropeTheta,
        ropeScaling(c, ropeParameters),
        qwen2 || attentionBias,
        !qwen2 && attentionBias,
        c.getBool("mlp_bias", false),
        c.getBool("tie_word_embeddings", gemma3),
        qwen3 || gemma3,
        activation(c, gemma3),
        gemma3 ? gemma3(c, hidden, layers) : null);
  }

  private static Activation activation(HfConfig c, boolean gemma3) throws ModelFormatException {
    String key = gemma3 ? "hidden_activation" : "hidden_act";
    String name = c.string(key).orElse(gemma3 ? "gelu_pytorch_tanh" : "silu");
    try {
      return Activation.fromHfName(name);
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(c.source() + ": " + key + ": " + e.getMessage(), e);
    }
  }

  /**
   * Gemma 3's settings ({@code Gemma3TextConfig}): which layers slide ({@code layer_types}, else
   * every {@code sliding_window_pattern}-th layer is full), their window and rope θ, the scales.
   * Attention-logit softcapping and bidirectional attention are refused (Gemma 3 uses neither).
   */
  private static Gemma3 gemma3(HfConfig c, int hidden, int layers) throws ModelFormatException {
    if (c.has("attn_logit_softcapping")) {
      throw new ModelFormatException(c.source() + ": attn_logit_softcapping is not supported");
    }
    if (c.getBool("use_bidirectional_attention", false)) {
      throw new ModelFormatException(c.source() + ": use_bidirectional_attention is not supported");
    }
    List<String> types = c.strings("layer_types");
    List<Boolean> sliding = new ArrayList<>();
    int pattern = c.getPositiveInt("sliding_window_pattern", 6);
    for (int i = 0; i < layers; i++) {
      String t = types.isEmpty() ? ((i + 1) % pattern != 0 ? "sliding_attention" : "full_attention") : types.get(i);
      if (!t.equals("sliding_attention") && !t.equals("full_attention")) {
        throw new ModelFormatException(c.source() + ": layer_types[" + i + "] '" + t
            + "' is not supported (sliding_attention, full_attention)");
      }
      sliding.add(t.equals("sliding_attention"));
    }
    if (!types.isEmpty() && types.size() != layers) {
      throw new ModelFormatException(c.source() + ": layer_types has " + types.size() + " entries for " + layers
          + " layers");
    }
    double localTheta = c.getDouble("rope_local_base_freq", 10000.0);
    JsonNode local = c.object("rope_parameters").map(p -> p.get("sliding_attention")).orElse(null);
    if (local != null && local.isObject()) {
      localTheta = c.number(local, "rope_theta", localTheta);
    }
    return new Gemma3(Math.sqrt(hidden), 1 / Math.sqrt(c.getDouble("query_pre_attn_scalar", 256)),
        c.isNull("sliding_window") ? Integer.MAX_VALUE : c.getPositiveInt("sliding_window", 4096), sliding, localTheta,
        c.has("final_logit_softcapping") ? c.getDouble("final_logit_softcapping", 0) : null);
  }

  /** The factor every RMSNorm's weight is offset by: 1 for Gemma ({@code x̂ · (1 + w)}), else 0. */
  public double normOffset() {
    return gemma3 == null ? 0 : 1;
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
