package dev.peft4j.text;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * The token ids of a {@code generation_config.json}: {@code bos_token_id}, {@code eos_token_id}
 * (an int or a list) and {@code pad_token_id}.
 */
record GenerationTokenIds(OptionalInt bos, List<Integer> eos, OptionalInt pad) {
  static final GenerationTokenIds NONE = new GenerationTokenIds(OptionalInt.empty(), List.of(), OptionalInt.empty());

  static GenerationTokenIds read(Path file) throws TokenizerException {
    JsonNode root = JsonFiles.readObject(file);
    List<Integer> eos = new ArrayList<>();
    JsonNode eosNode = root.get("eos_token_id");
    if (eosNode != null && eosNode.isArray()) {
      for (JsonNode id : eosNode) {
        JsonFiles.smallInt(id).ifPresent(eos::add);
      }
    } else {
      JsonFiles.smallInt(eosNode).ifPresent(eos::add);
    }
    return new GenerationTokenIds(
        JsonFiles.smallInt(root.get("bos_token_id")), List.copyOf(eos), JsonFiles.smallInt(root.get("pad_token_id")));
  }
}
