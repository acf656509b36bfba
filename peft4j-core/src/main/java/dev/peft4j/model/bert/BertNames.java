package dev.peft4j.model.bert;

import java.util.Optional;

/** Maps BERT checkpoint names of every vintage to peft4j's parameter paths. */
final class BertNames {
  private static final String BERT_PREFIX = "bert.";

  private BertNames() {}

  /**
   * @param prefix the path of the encoder in the model ("" for {@code BertModel},
   *     {@code "bert."} inside a task model)
   */
  static Optional<String> normalise(String name, String prefix) {
    if (name.endsWith("embeddings.position_ids") || name.endsWith("embeddings.token_type_ids")) {
      return Optional.empty(); // index buffers, not weights
    }
    String n = name;
    // TF-era checkpoints name LayerNorm parameters gamma/beta.
    if (n.endsWith(".gamma")) {
      n = n.substring(0, n.length() - ".gamma".length()) + ".weight";
    } else if (n.endsWith(".beta")) {
      n = n.substring(0, n.length() - ".beta".length()) + ".bias";
    }
    boolean encoderPart = n.startsWith("embeddings.") || n.startsWith("encoder.") || n.startsWith("pooler.");
    if (n.startsWith(BERT_PREFIX)) {
      n = n.substring(BERT_PREFIX.length());
      encoderPart = true;
    }
    return Optional.of(encoderPart ? prefix + n : n);
  }
}
