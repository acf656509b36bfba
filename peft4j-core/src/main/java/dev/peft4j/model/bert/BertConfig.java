package dev.peft4j.model.bert;

import com.fasterxml.jackson.databind.JsonNode;
import dev.peft4j.io.HfConfig;
import dev.peft4j.io.ModelFormatException;
import dev.peft4j.nn.Activation;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * The fields of a BERT {@code config.json} peft4j uses, with Hugging Face's {@code BertConfig}
 * defaults. Only absolute position embeddings are supported.
 *
 * @param labels a sequence classifier's label names in class-id order: {@code id2label}'s, else
 *     {@code LABEL_0 ...} for {@code num_labels}, else two (transformers' defaults)
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
    List<String> labels) {

  public BertConfig {
    labels = List.copyOf(labels);
  }

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
        labels(c));
  }

  private static List<String> labels(HfConfig c) throws ModelFormatException {
    Optional<JsonNode> id2label = c.object("id2label");
    if (id2label.isEmpty()) {
      int n = c.getPositiveInt("num_labels", 2);
      return IntStream.range(0, n).mapToObj(i -> "LABEL_" + i).toList();
    }
    List<String> labels = new ArrayList<>();
    for (int id = 0; id < id2label.get().size(); id++) {
      JsonNode name = id2label.get().get(String.valueOf(id));
      if (name == null || !name.isTextual()) {
        throw new ModelFormatException(c.source() + ": id2label must map 0.." + (id2label.get().size() - 1)
            + " to label names; " + (name == null ? "there is no " + id : id + " maps to " + name));
      }
      labels.add(name.asText());
    }
    return labels;
  }

  public int headDim() {
    return hiddenSize / numHeads;
  }
}
