package dev.peft4j.testing.reference;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Read-only view of a Hugging Face {@code config.json} held as a map (from a JSON parser or
 * {@code TinyCheckpoint}). JSON {@code null} counts as absent, like Python's
 * {@code getattr(config, key, None) or default}.
 */
public final class RefConfig {
  private final Map<String, Object> values;

  public RefConfig(Map<String, ?> values) {
    this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
  }

  public boolean has(String key) {
    return values.get(key) != null;
  }

  public int getInt(String key, int defaultValue) {
    return has(key) ? number(key).intValue() : defaultValue;
  }

  public int requireInt(String key) {
    if (!has(key)) {
      throw new IllegalArgumentException("config.json lacks required field " + key);
    }
    return number(key).intValue();
  }

  public double getDouble(String key, double defaultValue) {
    return has(key) ? number(key).doubleValue() : defaultValue;
  }

  public boolean getBool(String key, boolean defaultValue) {
    return has(key) ? Boolean.parseBoolean(values.get(key).toString()) : defaultValue;
  }

  public String getString(String key, String defaultValue) {
    return has(key) ? values.get(key).toString() : defaultValue;
  }

  /** A nested object such as {@code rope_scaling}, or null when absent. */
  @SuppressWarnings("unchecked")
  public Map<String, Object> getMap(String key) {
    Object v = values.get(key);
    if (v != null && !(v instanceof Map)) {
      throw new IllegalArgumentException("config field " + key + " is not an object: " + v);
    }
    return (Map<String, Object>) v;
  }

  private Number number(String key) {
    Object v = values.get(key);
    return v instanceof Number ? (Number) v : Double.valueOf(v.toString());
  }
}
