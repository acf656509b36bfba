package dev.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.data.Batch;
import dev.peft4j.data.DataLoader;
import dev.peft4j.data.EncodedExample;
import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.SafeTensorsFile;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.ModelWriter;
import dev.peft4j.model.SequenceClassifier;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Full fine-tuning: every weight trains, and the whole model saves and reloads exactly. */
class FullFineTuningTest {
  private static final List<String> LABELS = List.of("negative", "positive");

  @TempDir Path dir;

  /** A tiny BERT without a pooler (as MiniLM), so mean pooling reaches every weight. */
  private SequenceClassifier classifier() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.bert();
    checkpoint.weights().keySet().removeIf(k -> k.startsWith("pooler."));
    checkpoint.shapes().keySet().removeIf(k -> k.startsWith("pooler."));
    Engine.manualSeed(3);
    return new SequenceClassifier(AutoModel.load(checkpoint.writeTo(dir.resolve("base"))), "bert", LABELS,
        SequenceClassifier.Pooling.MEAN);
  }

  /** Rows of token 5..9 are class 0, of 20..24 class 1. */
  private static DataLoaderSource data() {
    Random random = new Random(1);
    List<EncodedExample> examples = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      int[] ids = new int[3 + random.nextInt(4)];
      for (int t = 0; t < ids.length; t++) {
        ids[t] = (i % 2 == 0 ? 5 : 20) + random.nextInt(5);
      }
      examples.add(EncodedExample.classification(ids, i % 2));
    }
    return new DataLoaderSource(DataLoader.builder(examples).batchSize(4).padId(0).shuffle(true).seed(1).build());
  }

  private static Map<String, float[]> snapshot(SequenceClassifier model) {
    Map<String, float[]> out = new LinkedHashMap<>();
    try (Scope scope = Scope.open()) {
      model.namedParameters().forEach((name, p) -> out.put(name, p.value().toFloatArray()));
    }
    return out;
  }

  private static float[] logits(SequenceClassifier model, Batch batch) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      return model.classify(batch.inputIds(), null, batch.attentionMask()).toFloatArray();
    }
  }

  @Test
  void everyWeightTrainsAndTheSavedModelReloadsToTheSameLogits() throws Exception {
    SequenceClassifier model = classifier();
    Map<String, float[]> before = snapshot(model);
    ClassificationObjective objective = ClassificationObjective.allWeights(model);
    assertThat(objective.trainableParameters().keySet()).isEqualTo(model.namedParameters().keySet());
    assertThat(objective.trainableParameters().values()).allMatch(Parameter::trainable);

    DataLoaderSource data = data();
    Trainer.builder(objective, data).optimizer(AdamWConfig.withLr(1e-2)).maxSteps(4).seed(1).build().train();

    Map<String, float[]> after = snapshot(model);
    List<String> unchanged = new ArrayList<>();
    before.forEach((name, values) -> {
      if (java.util.Arrays.equals(values, after.get(name))) {
        unchanged.add(name);
      }
    });
    assertThat(unchanged).as("weights that did not change").isEmpty();

    Path saved = dir.resolve("full");
    ModelWriter.save(model, saved);
    // Hugging Face's BertForSequenceClassification names
    try (SafeTensorsFile file = SafeTensorsFile.open(saved.resolve("model.safetensors"))) {
      assertThat(file.tensors().stream().map(dev.peft4j.io.TensorInfo::name).toList()).contains("bert.embeddings.word_embeddings.weight", "classifier.weight", "classifier.bias")
          .hasSize(before.size());
    }
    SequenceClassifier reloaded = AutoModel.loadClassifier(saved, LABELS, SequenceClassifier.Pooling.MEAN,
        LoadOptions.defaults());
    try (Batch batch = data.batch(0, 0)) {
      assertThat(logits(reloaded, batch)).containsExactly(logits(model, batch));
    }
  }

  @Test
  void aHeadOfAnotherSizeIsAClearError() throws Exception {
    SequenceClassifier model = classifier();
    Path saved = dir.resolve("full");
    ModelWriter.save(model, saved);
    assertThatThrownBy(() -> AutoModel.loadClassifier(saved, List.of("a", "b", "c"), SequenceClassifier.Pooling.MEAN,
        LoadOptions.defaults())).isInstanceOf(ModelFormatException.class).hasMessageContaining("classifier.").hasMessageContaining("expects [3]");
  }
}
