package dev.peft4j.cli;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.SequenceClassifier;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.PeftModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Builds the model a command runs: the base from {@code --model}, with a classification head
 * when an adapter brings one ({@value #LABELS_FILE}), and the adapter from {@code --adapter}.
 */
final class ModelSetup {
  /** Written next to a classification adapter: its label names in class-id order. */
  static final String LABELS_FILE = "labels.json";

  private ModelSetup() {}

  /** A new classification head on an encoder, named as BERT's ({@code bert.*}, {@code classifier.*}). */
  static SequenceClassifier classifier(PretrainedModel encoder, List<String> labels, String pooling) {
    SequenceClassifier.Pooling p = SequenceClassifier.Pooling.valueOf(pooling.toUpperCase(Locale.ROOT));
    return new SequenceClassifier(encoder, "bert", labels, p);
  }

  /** The model in {@code modelDir} with the adapter in {@code adapterDir} (null for none) attached. */
  static PretrainedModel load(Path modelDir, Path adapterDir, LoadOptions options) throws IOException {
    PretrainedModel base = AutoModel.load(modelDir, options);
    if (adapterDir == null) {
      return base;
    }
    Path labelsFile = adapterDir.resolve(LABELS_FILE);
    if (Files.exists(labelsFile)) {
      List<String> labels = new com.fasterxml.jackson.databind.ObjectMapper().readValue(labelsFile.toFile(),
          new com.fasterxml.jackson.core.type.TypeReference<List<String>>() {});
      base = classifier(base, labels, "mean");
    }
    if (!Files.exists(adapterDir.resolve(AdapterFormat.CONFIG_FILE))) {
      throw new dev.peft4j.io.ModelFormatException("no " + AdapterFormat.CONFIG_FILE + " in " + adapterDir);
    }
    return PeftModel.load(base, adapterDir).baseModel();
  }
}
