package dev.peft4j.model;

import static dev.peft4j.model.ModelTesting.assertClose;
import static dev.peft4j.model.ModelTesting.batch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import dev.peft4j.testing.reference.ReferenceBert;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SequenceClassifierTest {
  @TempDir Path dir;

  @Test
  void meanPooledHeadMatchesTheReferenceOnAPaddedBatch() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.bert();
    ReferenceBert reference = (ReferenceBert) checkpoint.reference();
    SequenceClassifier model = new SequenceClassifier(AutoModel.load(checkpoint.writeTo(dir)), "bert",
        List.of("a", "b", "c"), SequenceClassifier.Pooling.MEAN);
    int[][] rows = {{2, 9, 8, 7, 3}, {2, 30, 3}};
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      float[] w = model.namedParameters().get("classifier.weight").value().toFloatArray();
      float[] b = model.namedParameters().get("classifier.bias").value().toFloatArray();
      Tensor logits = model.classify(batch(new long[][] {{2, 9, 8, 7, 3}, {2, 30, 3, 0, 0}}), null,
          batch(new long[][] {{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}}));
      for (int r = 0; r < rows.length; r++) {
        float[][] h = reference.lastHidden(rows[r], null);
        float[] expected = new float[3];
        for (int c = 0; c < 3; c++) {
          double s = b[c];
          for (int k = 0; k < 32; k++) {
            double mean = 0;
            for (float[] position : h) {
              mean += position[k];
            }
            s += w[c * 32 + k] * mean / h.length;
          }
          expected[c] = (float) s;
        }
        assertClose(logits.select(0, r).toFloatArray(), expected, 1e-4, "row " + r);
      }
    }
    assertThat(model.namedParameters()).containsKeys("bert.embeddings.word_embeddings.weight", "classifier.weight");
  }

  @Test
  void aTransformersClassifierLoadsAsPoolerHeadWithItsLabels() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.bert().withClassifier(3)
        .config("id2label", Map.of("0", "negative", "1", "neutral", "2", "positive"));
    SequenceClassifier model = (SequenceClassifier) AutoModel.load(checkpoint.writeTo(dir));
    assertThat(model.labels()).containsExactly("negative", "neutral", "positive");
    assertThat(model.architecture()).isEqualTo("BertModel+SequenceClassifier(pooler)");
    int[] ids = {2, 9, 8, 7, 3};
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor logits = model.classify(batch(new long[][] {{2, 9, 8, 7, 3}}), null, null);
      assertClose(logits.select(0, 0).toFloatArray(), ((ReferenceBert) checkpoint.reference()).classifierLogits(ids, null),
          1e-4, "logits");
    }
  }

  @Test
  void poolerPoolingNeedsAPooler() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.bert();
    checkpoint.weights().keySet().removeIf(k -> k.startsWith("pooler."));
    checkpoint.shapes().keySet().removeIf(k -> k.startsWith("pooler."));
    SequenceClassifier model = new SequenceClassifier(AutoModel.load(checkpoint.writeTo(dir)), "bert",
        List.of("x", "y"), SequenceClassifier.Pooling.POOLER);
    try (Scope scope = Scope.open()) {
      assertThatThrownBy(() -> model.classify(batch(new long[][] {{2, 3}}), null, null))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("has no pooler");
    }
  }
}
