package dev.peft4j.peft.lora;

import dev.peft4j.peft.tokens.TokenRows;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PEFT's {@code trainable_token_indices}: rows of an embedding table trained in full beside LoRA
 * (e.g. the embeddings of chat-template tokens), as a list of token ids for the model's input
 * embedding, or a map from embedding module name (or suffix) to token ids.
 *
 * @param indices the token ids of the input embedding, or null when {@code byModule} is given
 * @param byModule module name → token ids, or null when {@code indices} is given
 */
public record TrainableTokens(List<Integer> indices, Map<String, List<Integer>> byModule) {

  public TrainableTokens {
    if ((indices == null) == (byModule == null)) {
      throw new IllegalArgumentException("trainable_token_indices is a list of token ids or a map of them, not both");
    }
    indices = indices == null ? null : TokenRows.distinctIds("trainable_token_indices", indices);
    if (byModule != null) {
      Map<String, List<Integer>> copy = new LinkedHashMap<>();
      byModule.forEach((module, ids) -> copy.put(module, TokenRows.distinctIds("trainable_token_indices['" + module + "']", ids)));
      byModule = java.util.Collections.unmodifiableMap(copy);
    }
  }

  /** The token ids of the model's input embedding. */
  public static TrainableTokens of(List<Integer> indices) {
    return new TrainableTokens(indices, null);
  }

  /** Token ids per embedding module (name or dotted suffix). */
  public static TrainableTokens of(Map<String, List<Integer>> byModule) {
    return new TrainableTokens(null, byModule);
  }

  /** The saved form: the list, or the map. */
  public Object toJson() {
    return indices != null ? indices : new LinkedHashMap<>(byModule);
  }
}
