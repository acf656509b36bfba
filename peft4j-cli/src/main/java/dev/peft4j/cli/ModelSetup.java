package dev.peft4j.cli;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.ModelWriter;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.PeftModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;

/**
 * Builds the model a command runs: the base from {@code --model}, with a classification head
 * when an adapter brings one ({@link ClassifierHead}), and the adapter from {@code --adapter}; or a
 * fully fine-tuned classifier saved whole ({@link #saveFullModel}).
 */
final class ModelSetup {

  /** What a fully fine-tuned model directory copies from its base, when present, to be a model directory itself. */
  private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
      "special_tokens_map.json", "chat_template.jinja", "generation_config.json");

  private ModelSetup() {}

  /**
   * Saves a fully fine-tuned model ({@code --method full}) or a merged one ({@code merge}) as a
   * model directory of its own:
   * {@code config.json} + {@code model.safetensors} by {@link ModelWriter} — a classifier's weights
   * under Hugging Face's {@code BertForSequenceClassification} names, {@code bert.*} and
   * {@code classifier.*} — the base directory's tokenizer files, and a classifier's
   * {@link ClassifierHead}. {@code --model DIR} loads it back ({@link #load}).
   *
   * @param head the classifier's labels and pooling, or null for a language model
   */
  static void saveFullModel(PretrainedModel model, Path baseDir, Path output, ClassifierHead head) throws IOException {
    ModelWriter.save(model, output);
    for (String file : TOKENIZER_FILES) {
      if (Files.exists(baseDir.resolve(file))) {
        Files.copy(baseDir.resolve(file), output.resolve(file), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    if (head != null) {
      head.writeTo(output);
    }
  }

  /**
   * The model in {@code modelDir} with the adapter in {@code adapterDir} (null for none) attached.
   * Without an adapter, a model directory holding a {@link ClassifierHead} is a classifier saved whole.
   */
  static PretrainedModel load(Path modelDir, Path adapterDir, LoadOptions options) throws IOException {
    if (adapterDir == null) {
      Optional<ClassifierHead> head = ClassifierHead.readFrom(modelDir);
      return head.isPresent()
          ? AutoModel.loadClassifier(modelDir, head.get().labels(), head.get().pooling(), options)
          : AutoModel.load(modelDir, options);
    }
    return loadAdapted(modelDir, adapterDir, options).baseModel();
  }

  /** The model in {@code modelDir} with the adapter in {@code adapterDir} attached, and the head it brings, if any. */
  static PeftModel loadAdapted(Path modelDir, Path adapterDir, LoadOptions options) throws IOException {
    PretrainedModel base = AutoModel.load(modelDir, options);
    Optional<ClassifierHead> head = ClassifierHead.readFrom(adapterDir);
    if (head.isPresent()) {
      base = head.get().on(base);
    }
    if (!Files.exists(adapterDir.resolve(AdapterFormat.CONFIG_FILE))) {
      throw new dev.peft4j.io.ModelFormatException("no " + AdapterFormat.CONFIG_FILE + " in " + adapterDir);
    }
    return PeftModel.load(base, adapterDir);
  }
}
