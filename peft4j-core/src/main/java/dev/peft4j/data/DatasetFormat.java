package dev.peft4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The shape of one JSON object per line in a {@link JsonlDataset}; other keys are ignored. */
public enum DatasetFormat {
  /** {@code {"text": ...}} → {@link TextExample}. */
  TEXT("{\"text\"}"),
  /** {@code {"prompt": ..., "completion": ...}} → {@link PromptCompletion}. */
  PROMPT_COMPLETION("{\"prompt\", \"completion\"}"),
  /** {@code {"instruction": ..., "input": ... (optional), "output": ...}} → {@link AlpacaExample}. */
  ALPACA("{\"instruction\", \"input\" (optional), \"output\"}"),
  /** {@code {"messages": [{"role": ..., "content": ...}, ...]}} → {@link ChatExample}. */
  CHAT("{\"messages\": [{\"role\", \"content\"}, ...]}"),
  /** {@code {"text": ..., "label": string or integer}} → {@link ClassificationExample}. */
  CLASSIFICATION("{\"text\", \"label\"}");

  private final String keys;

  DatasetFormat(String keys) {
    this.keys = keys;
  }

  /** The keys this format reads, for messages, e.g. {@code {"prompt", "completion"}}. */
  public String keys() {
    return keys;
  }

  /**
   * Guesses the format from the keys of a dataset's first object: {@code messages} → CHAT;
   * {@code instruction} and {@code output} → ALPACA; {@code prompt} and {@code completion} →
   * PROMPT_COMPLETION; {@code text} and {@code label} → CLASSIFICATION; {@code text} → TEXT.
   *
   * @throws IllegalArgumentException if {@code first} is not an object or matches no format; the
   *     message lists its keys and the formats' keys
   */
  public static DatasetFormat detect(JsonNode first) {
    if (first == null || !first.isObject()) {
      throw new IllegalArgumentException("cannot detect the dataset format: not a JSON object");
    }
    if (first.has("messages")) {
      return CHAT;
    }
    if (first.has("instruction") && first.has("output")) {
      return ALPACA;
    }
    if (first.has("prompt") && first.has("completion")) {
      return PROMPT_COMPLETION;
    }
    if (first.has("text")) {
      return first.has("label") ? CLASSIFICATION : TEXT;
    }
    List<String> names = new ArrayList<>();
    first.fieldNames().forEachRemaining(names::add);
    StringBuilder known = new StringBuilder();
    for (DatasetFormat f : values()) {
      known.append(known.length() == 0 ? "" : "; ").append(f.name()).append(' ').append(f.keys);
    }
    throw new IllegalArgumentException(
        "cannot detect the dataset format from keys " + names + "; known formats: " + known);
  }

  /**
   * Parses a format name, ignoring case and treating {@code -} as {@code _}
   * (e.g. {@code prompt-completion}).
   *
   * @throws IllegalArgumentException for an unknown name, listing the known ones
   */
  public static DatasetFormat named(String name) {
    String key = name.toUpperCase(Locale.ROOT).replace('-', '_');
    for (DatasetFormat f : values()) {
      if (f.name().equals(key)) {
        return f;
      }
    }
    throw new IllegalArgumentException("unknown dataset format \"" + name + "\"; known: "
        + "text, prompt_completion, alpaca, chat, classification");
  }
}
