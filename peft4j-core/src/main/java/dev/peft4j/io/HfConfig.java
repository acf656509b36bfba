package dev.peft4j.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Hugging Face {@code config.json}: typed access to its fields, each with the default the
 * caller passes (Hugging Face's default for that architecture). Errors name the file and key.
 */
public final class HfConfig {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final JsonNode root;
  private final String source;

  private HfConfig(JsonNode root, String source) {
    this.root = root;
    this.source = source;
  }

  /** Reads {@code config.json} from a model directory. */
  public static HfConfig read(Path modelDir) throws IOException {
    Path file = modelDir.resolve("config.json");
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new ModelFormatException("no config.json in " + modelDir + " (is this a Hugging Face model directory?)");
    }
    return parse(text, file.toString());
  }

  /** Parses config JSON; {@code source} names it in error messages. */
  public static HfConfig parse(String json, String source) throws ModelFormatException {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new ModelFormatException(source + " is not valid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw new ModelFormatException(source + " must contain a JSON object");
    }
    return new HfConfig(root, source);
  }

  /** This config with {@code entries} set (each value as Jackson writes it), the rest unchanged. */
  public HfConfig with(Map<String, Object> entries) {
    ObjectNode copy = ((ObjectNode) root).deepCopy();
    entries.forEach((key, value) -> copy.set(key, JSON.valueToTree(value)));
    return new HfConfig(copy, source);
  }

  /** The config as JSON text (for writing it beside saved weights). */
  public String toJson() {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise config from " + source, e);
    }
  }

  /** Where this config came from, for messages. */
  public String source() {
    return source;
  }

  /** {@code model_type}, required. */
  public String modelType() throws ModelFormatException {
    return string("model_type")
        .orElseThrow(() -> new ModelFormatException(source + " has no \"model_type\""));
  }

  /** {@code architectures}, e.g. ["LlamaForCausalLM"]; empty if absent. */
  public List<String> architectures() {
    List<String> out = new ArrayList<>();
    root.path("architectures").forEach(n -> out.add(n.asText()));
    return out;
  }

  /** A list of strings such as {@code layer_types}; empty if absent or null. */
  public List<String> strings(String key) throws ModelFormatException {
    JsonNode n = root.get(key);
    List<String> out = new ArrayList<>();
    if (n == null || n.isNull()) {
      return out;
    }
    if (!n.isArray()) {
      throw new ModelFormatException(source + ": \"" + key + "\" must be a list, got " + n);
    }
    for (JsonNode e : n) {
      if (!e.isTextual()) {
        throw new ModelFormatException(source + ": \"" + key + "\" must hold strings, got " + e);
      }
      out.add(e.asText());
    }
    return out;
  }

  /** Whether {@code key} is present with the value null (as opposed to absent, which means the default). */
  public boolean isNull(String key) {
    JsonNode n = root.get(key);
    return n != null && n.isNull();
  }

  public boolean has(String key) {
    JsonNode n = root.get(key);
    return n != null && !n.isNull();
  }

  public int getInt(String key, int defaultValue) throws ModelFormatException {
    JsonNode n = root.get(key);
    if (n == null || n.isNull()) {
      return defaultValue;
    }
    if (!n.canConvertToInt() || !n.isIntegralNumber()) {
      throw new ModelFormatException(source + ": \"" + key + "\" must be an integer, got " + n);
    }
    int v = n.intValue();
    return v;
  }

  /** A positive integer field. */
  public int getPositiveInt(String key, int defaultValue) throws ModelFormatException {
    int v = getInt(key, defaultValue);
    if (v <= 0) {
      throw new ModelFormatException(source + ": \"" + key + "\" must be positive, got " + v);
    }
    return v;
  }

  public double getDouble(String key, double defaultValue) throws ModelFormatException {
    return number(root, key, defaultValue);
  }

  public boolean getBool(String key, boolean defaultValue) throws ModelFormatException {
    JsonNode n = root.get(key);
    if (n == null || n.isNull()) {
      return defaultValue;
    }
    if (!n.isBoolean()) {
      throw new ModelFormatException(source + ": \"" + key + "\" must be true or false, got " + n);
    }
    return n.booleanValue();
  }

  public Optional<String> string(String key) {
    JsonNode n = root.get(key);
    return n == null || n.isNull() ? Optional.empty() : Optional.of(n.asText());
  }

  /** A nested object such as {@code rope_scaling}; empty if absent or null. */
  public Optional<JsonNode> object(String key) throws ModelFormatException {
    JsonNode n = root.get(key);
    if (n == null || n.isNull()) {
      return Optional.empty();
    }
    if (!n.isObject()) {
      throw new ModelFormatException(source + ": \"" + key + "\" must be an object, got " + n);
    }
    return Optional.of(n);
  }

  /** A number field of a nested object, for messages naming {@code parent.key}. */
  public double number(JsonNode parent, String key, double defaultValue) throws ModelFormatException {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      return defaultValue;
    }
    if (!n.isNumber()) {
      throw new ModelFormatException(source + ": \"" + key + "\" must be a number, got " + n);
    }
    return n.doubleValue();
  }
}
