package dev.peft4j.cli;

import dev.peft4j.io.PythonJson;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.ModelWriter;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.SequenceClassifier;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.PeftModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

/**
 * Builds the model a command runs: the base from {@code --model}, with a classification head
 * when an adapter brings one ({@value #LABELS_FILE}), and the adapter from {@code --adapter}; or a
 * fully fine-tuned classifier saved whole ({@link #saveFullModel}).
 */
final class ModelSetup {
  /** Written next to a classification adapter: its label names in class-id order. */
  static final String LABELS_FILE = "labels.json";

  /** What a fully fine-tuned model directory copies from its base, when present, to be a model directory itself. */
  private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
      "special_tokens_map.json", "chat_template.jinja", "generation_config.json");

  private ModelSetup() {}

  /** A new classification head on an encoder, named as BERT's ({@code bert.*}, {@code classifier.*}). */
  static SequenceClassifier classifier(PretrainedModel encoder, List<String> labels, String pooling) {
    SequenceClassifier.Pooling p = SequenceClassifier.Pooling.valueOf(pooling.toUpperCase(Locale.ROOT));
    return new SequenceClassifier(encoder, "bert", labels, p);
  }

  /**
   * Saves a fully fine-tuned model ({@code --method full}) as a model directory of its own:
   * {@code config.json} + {@code model.safetensors} by {@link ModelWriter} — a classifier's weights
   * under Hugging Face's {@code BertForSequenceClassification} names, {@code bert.*} and
   * {@code classifier.*} — the base directory's tokenizer files, and a classifier's
   * {@value #LABELS_FILE}. {@code --model DIR} loads it back ({@link #load}).
   *
   * @param labels the classifier's labels, or null for a language model
   */
  static void saveFullModel(PretrainedModel model, Path baseDir, Path output, List<String> labels) throws IOException {
    ModelWriter.save(model, output);
    for (String file : TOKENIZER_FILES) {
      if (Files.exists(baseDir.resolve(file))) {
        Files.copy(baseDir.resolve(file), output.resolve(file), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    if (labels != null) {
      writeLabels(output, labels);
    }
  }

  /** Writes {@value #LABELS_FILE} (label names in class-id order) into {@code dir}. */
  static void writeLabels(Path dir, List<String> labels) throws IOException {
    Files.writeString(dir.resolve(LABELS_FILE), PythonJson.dumps(labels));
  }

  /**
   * The model in {@code modelDir} with the adapter in {@code adapterDir} (null for none) attached.
   * Without an adapter, a model directory holding {@value #LABELS_FILE} is a classifier saved whole.
   */
  static PretrainedModel load(Path modelDir, Path adapterDir, LoadOptions options) throws IOException {
    if (adapterDir == null) {
      Path labelsFile = modelDir.resolve(LABELS_FILE);
      return Files.exists(labelsFile)
          ? AutoModel.loadClassifier(modelDir, readLabels(labelsFile), SequenceClassifier.Pooling.MEAN, options)
          : AutoModel.load(modelDir, options);
    }
    PretrainedModel base = AutoModel.load(modelDir, options);
    Path labelsFile = adapterDir.resolve(LABELS_FILE);
    if (Files.exists(labelsFile)) {
      base = classifier(base, readLabels(labelsFile), "mean");
    }
    if (!Files.exists(adapterDir.resolve(AdapterFormat.CONFIG_FILE))) {
      throw new dev.peft4j.io.ModelFormatException("no " + AdapterFormat.CONFIG_FILE + " in " + adapterDir);
    }
    return PeftModel.load(base, adapterDir).baseModel();
  }

  private static List<String> readLabels(Path labelsFile) throws IOException {
    return new com.fasterxml.jackson.databind.ObjectMapper().readValue(labelsFile.toFile(),
        new com.fasterxml.jackson.core.type.TypeReference<List<String>>() {});
  }
}
