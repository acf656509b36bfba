package dev.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.PythonJson;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.SequenceClassifier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What a classifier's head needs besides its weights, saved next to a classification adapter or a
 * fully fine-tuned classifier as {@value #FILE}: the label names in class-id order and the pooling
 * the head was trained on, e.g. {@code {"labels": ["negative", "positive"], "pooling": "mean"}}.
 * Directories written before the pooling was saved hold {@value #LEGACY_FILE} (the labels alone)
 * and load with mean pooling, the default, as they did then.
 *
 * @param labels label names in class-id order
 * @param pooling how the encoder's states become the head's input
 */
record ClassifierHead(List<String> labels, SequenceClassifier.Pooling pooling) {
  static final String FILE = "classifier.json";
  static final String LEGACY_FILE = "labels.json";

  ClassifierHead {
    labels = List.copyOf(labels);
  }

  /**
   * A new head over {@code model}, named as BERT's ({@code bert.*}, {@code classifier.*}); over its
   * encoder if {@code model} is a classifier already (a transformers {@code BertForSequenceClassification},
   * whose head this one replaces).
   */
  SequenceClassifier on(PretrainedModel model) {
    return new SequenceClassifier(model, "bert", labels, pooling);
  }

  void writeTo(Path dir) throws IOException {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("labels", labels);
    json.put("pooling", pooling.name().toLowerCase(Locale.ROOT));
    Files.writeString(dir.resolve(FILE), PythonJson.dumps(json));
  }

  /** The head saved in {@code dir}, if any. */
  static Optional<ClassifierHead> readFrom(Path dir) throws IOException {
    Path file = dir.resolve(FILE);
    if (Files.exists(file)) {
      JsonNode json = parse(file);
      if (!json.isObject()) {
        throw new ModelFormatException(file + ": expected an object with \"labels\" and \"pooling\"");
      }
      return Optional.of(new ClassifierHead(labels(file, json.path("labels")), pooling(file, json.path("pooling"))));
    }
    Path legacy = dir.resolve(LEGACY_FILE);
    if (Files.exists(legacy)) {
      return Optional.of(new ClassifierHead(labels(legacy, parse(legacy)), SequenceClassifier.Pooling.MEAN));
    }
    return Optional.empty();
  }

  /** {@code mean}, {@code cls} or {@code pooler}, in any case. */
  static SequenceClassifier.Pooling parsePooling(String name) {
    try {
      return SequenceClassifier.Pooling.valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown pooling '" + name + "'; expected mean, cls or pooler", e);
    }
  }

  private static JsonNode parse(Path file) throws ModelFormatException {
    try {
      return new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new ModelFormatException(file + ": not valid JSON (" + e.getMessage() + ")", e);
    }
  }

  private static List<String> labels(Path file, JsonNode node) throws ModelFormatException {
    if (!node.isArray() || node.isEmpty()) {
      throw new ModelFormatException(file + ": \"labels\" must be a non-empty list of label names");
    }
    List<String> labels = new ArrayList<>();
    for (JsonNode label : node) {
      if (!label.isTextual()) {
        throw new ModelFormatException(file + ": label " + labels.size() + " is not a string: " + label);
      }
      labels.add(label.asText());
    }
    return labels;
  }

  private static SequenceClassifier.Pooling pooling(Path file, JsonNode node) throws ModelFormatException {
    if (!node.isTextual()) {
      throw new ModelFormatException(file + ": \"pooling\" must be one of mean, cls, pooler");
    }
    try {
      return parsePooling(node.asText());
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(file + ": " + e.getMessage());
    }
  }
}
