package dev.peft4j.model.gpt2;

import dev.peft4j.io.HfConfig;
import dev.peft4j.io.ModelFormatException;
import dev.peft4j.nn.Activation;

/**
 * The fields of a GPT-2 {@code config.json} peft4j uses, with Hugging Face's
 * {@code GPT2Config} defaults.
 *
 * @param innerSize {@code n_inner}, default 4 × {@code n_embd}
 * @param scaleAttnByInverseLayerIdx divide attention scores also by (layer + 1)
 */
public record Gpt2Config(
    int vocabSize,
    int maxPositions,
    int hiddenSize,
    int numLayers,
    int numHeads,
    int innerSize,
    Activation activation,
    double layerNormEps,
    boolean scaleAttnWeights,
    boolean scaleAttnByInverseLayerIdx) {

  public static Gpt2Config from(HfConfig c) throws ModelFormatException {
    int embd = c.getPositiveInt("n_embd", 768);
    int heads = c.getPositiveInt("n_head", 12);
    if (embd % heads != 0) {
      throw new ModelFormatException(c.source() + ": n_embd (" + embd + ") must be divisible by n_head (" + heads + ")");
    }
    Activation activation;
    try {
      activation = Activation.fromHfName(c.string("activation_function").orElse("gelu_new"));
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(c.source() + ": " + e.getMessage());
    }
    return new Gpt2Config(
        c.getPositiveInt("vocab_size", 50257),
        c.getPositiveInt("n_positions", 1024),
        embd,
        c.getPositiveInt("n_layer", 12),
        heads,
        c.getPositiveInt("n_inner", 4 * embd),
        activation,
        c.getDouble("layer_norm_epsilon", 1e-5),
        c.getBool("scale_attn_weights", true),
        c.getBool("scale_attn_by_inverse_layer_idx", false));
  }

  public int headDim() {
    return hiddenSize / numHeads;
  }
}
