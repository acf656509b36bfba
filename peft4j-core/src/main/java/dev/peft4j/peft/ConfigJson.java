package dev.peft4j.peft;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reading and writing the {@code adapter_config.json} fields the PEFT config classes share:
 * {@code PeftConfigMixin} and {@code PeftConfig} (src/peft/config.py) and {@code PromptLearningConfig}
 * (same file) at huggingface/peft@5d602fd. Readers throw {@link IllegalArgumentException} naming
 * the key; the parsers turn it into a {@code ModelFormatException} naming the file.
 */
public final class ConfigJson {
  /** The {@code peft_version} peft4j writes (the PEFT release whose format it follows). */
  public static final String PEFT_VERSION = "0.20.1.dev0";

  private ConfigJson() {}

  /**
   * Runs {@code parser}, turning the errors of a wrong value (IllegalArgumentException or
   * ClassCastException naming the key) into a {@link ModelFormatException} naming {@code source}, the file.
   */
  public static <T> T parse(String source, java.util.function.Supplier<T> parser)
      throws dev.peft4j.io.ModelFormatException {
    try {
      return parser.get();
    } catch (IllegalArgumentException | ClassCastException e) {
      throw new dev.peft4j.io.ModelFormatException(source + ": " + e.getMessage(), e);
    }
  }

  /** The keys of {@code PeftConfigMixin} + {@code PeftConfig}. */
  public static Map<String, Object> base(String peftType, TaskType taskType, String baseModel, boolean inferenceMode) {
    Map<String, Object> m = new TreeMap<>();
    m.put("auto_mapping", null);
    m.put("base_model_name_or_path", baseModel);
    m.put("inference_mode", inferenceMode);
    m.put("peft_type", peftType);
    m.put("peft_version", PEFT_VERSION);
    m.put("revision", null);
    m.put("task_type", taskType == null ? null : taskType.name());
    return m;
  }

  /** {@link #base} plus the keys of {@code PromptLearningConfig}. */
  public static Map<String, Object> promptLearning(String peftType, TaskType taskType, String baseModel,
      boolean inferenceMode, int numVirtualTokens, Integer tokenDim, Integer numAttentionHeads, Integer numLayers,
      List<String> modulesToSave) {
    Map<String, Object> m = base(peftType, taskType, baseModel, inferenceMode);
    m.put("modules_to_save", modulesToSave);
    m.put("num_attention_heads", numAttentionHeads);
    m.put("num_layers", numLayers);
    m.put("num_transformer_submodules", 1); // 2 only for encoder-decoder models, which peft4j does not have
    m.put("num_virtual_tokens", numVirtualTokens);
    m.put("token_dim", tokenDim);
    return m;
  }

  public static TaskType taskType(Map<String, Object> json) {
    return TaskType.parse(string(json, "task_type"));
  }

  public static String string(Map<String, Object> json, String key) {
    Object v = json.get(key);
    if (v != null && !(v instanceof String)) {
      throw new IllegalArgumentException(key + " must be a string, got " + v);
    }
    return (String) v;
  }

  public static boolean bool(Map<String, Object> json, String key, boolean defaultValue) {
    Object v = json.get(key);
    if (v == null) {
      return defaultValue;
    }
    if (!(v instanceof Boolean)) {
      throw new IllegalArgumentException(key + " must be true or false, got " + v);
    }
    return (Boolean) v;
  }

  /** An integer value, or null when absent. */
  public static Integer optionalInt(Map<String, Object> json, String key) {
    Object v = json.get(key);
    return v == null ? null : integer(v, key);
  }

  /**
   * A JSON value that must be an integer (an element of a list or map, say).
   *
   * @param what names the value in the error, e.g. {@code layers_to_transform}
   */
  public static int integer(Object value, String what) {
    if (!(value instanceof Number) || ((Number) value).doubleValue() != Math.rint(((Number) value).doubleValue())) {
      throw new IllegalArgumentException(what + " must be an integer, got " + value);
    }
    return ((Number) value).intValue();
  }

  public static int requiredInt(Map<String, Object> json, String key) {
    Integer v = optionalInt(json, key);
    if (v == null) {
      throw new IllegalArgumentException(key + " is missing");
    }
    return v;
  }

  public static double number(Map<String, Object> json, String key, double defaultValue) {
    Object v = json.get(key);
    if (v == null) {
      return defaultValue;
    }
    if (!(v instanceof Number)) {
      throw new IllegalArgumentException(key + " must be a number, got " + v);
    }
    return ((Number) v).doubleValue();
  }

  /** A number as Python writes it: an integral value as an integer ({@code 16}), else a float ({@code 0.5}). */
  public static Object integralOrDouble(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? (Object) (long) v : (Object) v;
  }

  /** {@code rank_pattern}: module key → rank; empty when absent. */
  public static Map<String, Integer> rankPattern(Map<String, Object> json) {
    return map(json.get("rank_pattern"), v -> integer(v, "rank_pattern value"));
  }

  /** {@code alpha_pattern}: module key → α; empty when absent. */
  public static Map<String, Double> alphaPattern(Map<String, Object> json) {
    return map(json.get("alpha_pattern"), v -> ((Number) v).doubleValue());
  }

  /** A JSON object's entries converted by {@code convert}; empty when absent. */
  public static <T> Map<String, T> map(Object value, java.util.function.Function<Object, T> convert) {
    Map<String, T> out = new java.util.LinkedHashMap<>();
    if (value != null) {
      ((Map<?, ?>) value).forEach((k, v) -> out.put(String.valueOf(k), convert.apply(v)));
    }
    return out;
  }

  /** {@code layers_to_transform}: a list of layer indices or a single one; null when absent. */
  public static List<Integer> layersToTransform(Map<String, Object> json) {
    Object layers = json.get("layers_to_transform");
    if (layers == null) {
      return null;
    }
    return layers instanceof List<?> list ? list.stream().map(x -> integer(x, "layers_to_transform")).toList()
        : List.of(integer(layers, "layers_to_transform"));
  }

  /** {@code layers_pattern}: a list of names or a single one; null when absent. */
  public static List<String> layersPattern(Map<String, Object> json) {
    Object pattern = json.get("layers_pattern");
    if (pattern == null) {
      return null;
    }
    return pattern instanceof String s ? List.of(s) : ((List<?>) pattern).stream().map(String::valueOf).toList();
  }

  public static List<String> strings(Map<String, Object> json, String key) {
    Object v = json.get(key);
    if (v == null) {
      return null;
    }
    if (!(v instanceof List)) {
      throw new IllegalArgumentException(key + " must be a list of strings, got " + v);
    }
    return ((List<?>) v).stream().map(String::valueOf).toList();
  }
}
