package dev.peft4j.peft.bottleneck;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.peft.ConfigJson;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Reads a {@code BOTTLENECK} adapter_config.json (docs/FORMATS.md). Unknown keys inside a stack
 * entry are refused: the format is peft4j's own, and a key it does not know may change the math.
 */
public final class BottleneckConfigJson {
  private static final Set<String> SPEC_KEYS = Set.of("bottleneck_size", "init_weights", "insertion",
      "layer_reduction_factors", "layers_to_transform", "learned_scaling", "multi_head", "non_linearity",
      "placement", "reduction_factor", "scaling");

  private BottleneckConfigJson() {}

  /** @throws ModelFormatException naming {@code source} and the field that is wrong */
  public static BottleneckConfig parse(Map<String, Object> json, String source) throws ModelFormatException {
    try {
      Object stack = json.get("stack");
      Checks.require(stack instanceof List && !((List<?>) stack).isEmpty(), "stack must be a non-empty list of adapters");
      BottleneckConfig.Builder b = BottleneckConfig.builder()
          .trainLayerNorms(ConfigJson.bool(json, "train_layer_norms", false))
          .taskType(ConfigJson.taskType(json))
          .baseModelNameOrPath(ConfigJson.string(json, "base_model_name_or_path"))
          .inferenceMode(ConfigJson.bool(json, "inference_mode", false));
      List<String> modulesToSave = ConfigJson.strings(json, "modules_to_save");
      if (modulesToSave != null) {
        b.modulesToSave(modulesToSave);
      }
      List<?> entries = (List<?>) stack;
      for (int i = 0; i < entries.size(); i++) {
        try {
          @SuppressWarnings("unchecked") // a JSON object's keys are strings
          Map<String, Object> entry = (Map<String, Object>) entries.get(i);
          b.adapter(spec(entry));
        } catch (IllegalArgumentException | ClassCastException | NullPointerException e) {
          throw new IllegalArgumentException("stack[" + i + "]: " + e.getMessage(), e);
        }
      }
      return b.build();
    } catch (IllegalArgumentException | ClassCastException e) {
      throw new ModelFormatException(source + ": " + e.getMessage(), e);
    }
  }

  private static BottleneckSpec spec(Map<String, Object> json) {
    TreeSet<String> unknown = new TreeSet<>(json.keySet());
    unknown.removeAll(SPEC_KEYS);
    Checks.require(unknown.isEmpty(), "unknown keys %s (known: %s)", unknown, new TreeSet<>(SPEC_KEYS));
    BottleneckSpec.Builder b = BottleneckSpec.builder()
        .placement(BottleneckSpec.Placement.parse(string(json, "placement")))
        .insertion(BottleneckSpec.Insertion.parse(string(json, "insertion")))
        .multiHead(ConfigJson.bool(json, "multi_head", false))
        .nonLinearity(BottleneckSpec.NonLinearity.parse(string(json, "non_linearity")))
        .init(BottleneckSpec.Init.parse(string(json, "init_weights")))
        .learnedScaling(ConfigJson.bool(json, "learned_scaling", false));
    if (json.get("scaling") != null) {
      b.scaling(ConfigJson.number(json, "scaling", 0));
    }
    Integer bottleneckSize = ConfigJson.optionalInt(json, "bottleneck_size");
    if (bottleneckSize != null) {
      b.bottleneckSize(bottleneckSize);
    }
    Integer reductionFactor = ConfigJson.optionalInt(json, "reduction_factor");
    if (reductionFactor != null) {
      b.reductionFactor(reductionFactor);
    }
    Map<Integer, Integer> perLayer = new TreeMap<>();
    if (json.get("layer_reduction_factors") != null) {
      ((Map<?, ?>) json.get("layer_reduction_factors")).forEach((k, v) ->
          perLayer.put(Integer.parseInt(String.valueOf(k)), ConfigJson.integer(v, "layer_reduction_factors[" + k + "]")));
    }
    b.layerReductionFactors(perLayer);
    if (json.get("layers_to_transform") != null) {
      b.layersToTransform(((List<?>) json.get("layers_to_transform")).stream()
          .map(x -> ConfigJson.integer(x, "layers_to_transform")).toList());
    }
    return b.build();
  }

  private static String string(Map<String, Object> json, String key) {
    Object v = json.get(key);
    Checks.require(v instanceof String, "%s must be a string, got %s", key, v);
    return (String) v;
  }
}
