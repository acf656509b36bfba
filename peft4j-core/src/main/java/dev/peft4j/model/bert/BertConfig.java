package dev.peft4j.model.bert;

import dev.peft4j.io.HfConfig;
import dev.peft4j.io.ModelFormatException;
import dev.peft4j.nn.Activation;

/**
 * The fields of a BERT {@code config.json} peft4j uses, with Hugging Face's {@code BertConfig}
 * defaults. Only absolute position embeddings are supported.
 *
 * @param numLabels classification labels ({@code num_labels}, else the size of
 *     {@code id2label}, else 2)
 */
public record BertConfig(
    int vocabSize,
    int hiddenSize,
    int numLayers,
    int numHeads,
    int intermediateSize,
    Activation activation,
    int maxPositions,
    int typeVocabSize,
    double layerNormEps,
    int numLabels) {

  public static BertConfig from(HfConfig c) throws ModelFormatException {
    int hidden = c.getPositiveInt("hidden_size", 768);
    int heads = c.getPositiveInt("num_attention_heads", 12);
    if (hidden % heads != 0) {
      throw new ModelFormatException(c.source() + ": hidden_size (" + hidden
          + ") must be divisible by num_attention_heads (" + heads + ")");
    }
    String positions = c.string("position_embedding_type").orElse("absolute");
    if (!positions.equals("absolute")) {
      throw new ModelFormatException(c.source() + ": position_embedding_type '" + positions
          + "' is not supported (only absolute)");
    }
    Activation activation;
    try {
      activation = Activation.fromHfName(c.string("hidden_act").orElse("gelu"));
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(c.source() + ": " + e.getMessage());
    }
    int labels = c.object("id2label").map(n -> n.size()).orElse(2);
    return new BertConfig(
        c.getPositiveInt("vocab_size", 30522),
        hidden,
        c.getPositiveInt("num_hidden_layers", 12),
        heads,
        c.getPositiveInt("intermediate_size", 3072),
        activation,
        c.getPositiveInt("max_position_embeddings", 512),
        c.getPositiveInt("type_vocab_size", 2),
        c.getDouble("layer_norm_eps", 1e-12),
        c.getPositiveInt("num_labels", labels));
  }

  public int headDim() {
    return hiddenSize / numHeads;
  }
}
