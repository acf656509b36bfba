package dev.peft4j.io.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.io.ModelWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** Which files of a repo peft4j needs. */
final class ModelFiles {
  /** Small files, taken when the repo has them. */
  static final List<String> METADATA = List.of(
      "config.json",
      "generation_config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "special_tokens_map.json",
      "adapter_config.json");
  /** An adapter's weights: the safetensors file, else the pickle PEFT wrote before 0.6 or when asked to. */
  static final List<String> ADAPTER_WEIGHTS = List.of("adapter_model.safetensors", "adapter_model.bin");

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private ModelFiles() {}

  /** The wanted files present in {@code available}, except the shards of an index (see {@link #shards}). */
  static List<String> select(Set<String> available) {
    List<String> wanted = new ArrayList<>();
    for (String f : METADATA) {
      if (available.contains(f)) {
        wanted.add(f);
      }
    }
    ADAPTER_WEIGHTS.stream().filter(available::contains).findFirst().ifPresent(wanted::add);
    // a model's weights: the first the repo has, in the order ModelWeights looks for them
    ModelWeights.WEIGHT_FILES.stream().filter(available::contains).findFirst().ifPresent(wanted::add);
    return wanted;
  }

  /** Whether {@code file} is a sharded checkpoint's index, whose shards ({@link #shards}) are fetched too. */
  static boolean isIndex(String file) {
    return file.endsWith(".index.json");
  }

  /**
   * The shard files listed in a {@code model.safetensors.index.json} or {@code pytorch_model.bin.index.json}
   * ({@code weight_map} values), sorted.
   *
   * @throws HubException if the index is not valid or lists a file the repo does not have
   */
  static List<String> shards(Path index, Set<String> available) throws HubException {
    JsonNode map;
    try {
      map = MAPPER.readTree(index.toFile()).path("weight_map");
    } catch (IOException e) {
      throw new HubException("cannot read weight index " + index, e);
    }
    if (!map.isObject()) {
      throw new HubException("no weight_map in " + index);
    }
    Set<String> shards = new TreeSet<>();
    map.forEach(v -> shards.add(v.asText()));
    for (String s : shards) {
      if (!available.contains(s)) {
        throw new HubException(index + " lists shard \"" + s + "\", which the repository does not have");
      }
    }
    return List.copyOf(shards);
  }
}
