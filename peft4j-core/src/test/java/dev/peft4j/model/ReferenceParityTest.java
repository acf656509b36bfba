package dev.peft4j.model;

import static dev.peft4j.model.ModelTesting.assertClose;
import static dev.peft4j.model.ModelTesting.at;
import static dev.peft4j.model.ModelTesting.ids;
import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.model.bert.BertModel;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import dev.peft4j.testing.reference.ReferenceBert;
import dev.peft4j.testing.reference.ReferenceModel;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Logits of checkpoints written by the tests equal those of the independent pure-Java reference
 * implementations in {@code dev.peft4j.testing.reference} (which share no code with peft4j), to
 * 1e-4 relative to the row's largest logit, in f32.
 */
class ReferenceParityTest {
  private static final double RTOL = 1e-4;
  private static final int[] IDS = {1, 17, 5, 42, 9, 63, 0, 28, 33, 7, 12};

  @TempDir Path dir;

  static Stream<Arguments> causalCheckpoints() {
    return Stream.of(
        Arguments.of("llama GQA untied", TinyCheckpoint.llama()),
        Arguments.of("llama tied", TinyCheckpoint.llama().config("tie_word_embeddings", true)),
        Arguments.of("llama MHA with biases", TinyCheckpoint.llama()
            .config("num_key_value_heads", 4).config("attention_bias", true).config("mlp_bias", true)),
        Arguments.of("llama head_dim != hidden/heads", TinyCheckpoint.llama().config("head_dim", 16)),
        Arguments.of("llama rope linear", TinyCheckpoint.llama()
            .config("rope_scaling", Map.of("type", "linear", "factor", 2.0))),
        Arguments.of("llama rope llama3", TinyCheckpoint.llama().config("rope_theta", 500000.0)
            .config("rope_scaling", Map.of("rope_type", "llama3", "factor", 8.0, "low_freq_factor", 1.0,
                "high_freq_factor", 4.0, "original_max_position_embeddings", 32))),
        Arguments.of("mistral", TinyCheckpoint.llama().config("model_type", "mistral")),
        Arguments.of("qwen2", TinyCheckpoint.llama().config("model_type", "qwen2")),
        Arguments.of("gpt2", TinyCheckpoint.gpt2()),
        Arguments.of("gpt2 sharded", TinyCheckpoint.gpt2().seed(7).shards(3)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("causalCheckpoints")
  void causalLogitsMatchReference(String name, TinyCheckpoint checkpoint) throws Exception {
    checkpoint.writeTo(dir);
    ReferenceModel reference = checkpoint.reference();
    float[][] expected = reference.logits(IDS);
    CausalLm model = AutoModel.loadCausalLm(dir, LoadOptions.defaults());
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor logits = model.forward(ids(IDS), null, null);
      assertThat(logits.shape()).containsExactly(1, IDS.length, model.vocabSize());
      for (int t = 0; t < IDS.length; t++) {
        assertClose(at(logits, 0, t), expected[t], RTOL, name + " position " + t);
      }
    }
  }

  @Test
  void bertHiddenStatesAndPoolerMatchReference() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.bert();
    checkpoint.writeTo(dir);
    ReferenceBert reference = (ReferenceBert) checkpoint.reference();
    int[] types = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1};
    float[][] expected = reference.lastHidden(IDS, types);
    BertModel model = (BertModel) AutoModel.load(dir);
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Encoder.EncoderOutput out = model.encode(ids(IDS), ids(types), null);
      for (int t = 0; t < IDS.length; t++) {
        assertClose(at(out.lastHiddenState(), 0, t), expected[t], RTOL, "bert position " + t);
      }
      assertClose(out.pooled().select(0, 0).toFloatArray(), reference.pooled(IDS, types), RTOL, "pooler");
    }
  }

  @Test
  void bertClassifierMatchesReference() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.bert().withClassifier(3);
    checkpoint.writeTo(dir);
    ReferenceBert reference = (ReferenceBert) checkpoint.reference();
    SequenceClassifier model = (SequenceClassifier) AutoModel.load(dir);
    assertThat(model.labels()).containsExactly("LABEL_0", "LABEL_1", "LABEL_2");
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor logits = model.classify(ids(IDS), null, null);
      assertThat(logits.shape()).containsExactly(1, 3);
      assertClose(logits.select(0, 0).toFloatArray(), reference.classifierLogits(IDS, null), RTOL, "classifier");
    }
  }

  @Test
  void bf16CheckpointRunsInBf16AndF32AndMatchesF32WithinBf16Tolerance() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama().dtype("BF16");
    checkpoint.writeTo(dir);
    float[][] expected = checkpoint.reference().logits(IDS); // reference on the bf16-rounded weights
    CausalLm f32 = AutoModel.loadCausalLm(dir, LoadOptions.defaults());
    CausalLm bf16 = AutoModel.loadCausalLm(dir, LoadOptions.defaults().withDType(DType.BF16));
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor exact = f32.forward(ids(IDS), null, null);
      Tensor low = bf16.forward(ids(IDS), null, null);
      assertThat(low.dtype()).isEqualTo(DType.BF16);
      for (int t = 0; t < IDS.length; t++) {
        // f32 compute on bf16 weights is exact up to f32 rounding
        assertClose(at(exact, 0, t), expected[t], RTOL, "f32 compute, position " + t);
        // bf16 compute: 8 mantissa bits, through 2 layers; 5e-2 of the row scale
        assertClose(at(low, 0, t), expected[t], 5e-2, "bf16 compute, position " + t);
      }
    }
  }
}
