package dev.peft4j.train;

import static dev.peft4j.peft.PeftTesting.maxAbs;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static dev.peft4j.train.TrainTesting.lmBatch;
import static dev.peft4j.train.TrainTesting.takeGradients;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.peft4j.data.Batch;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.SequenceClassifier;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.TaskType;
import dev.peft4j.peft.llamaadapter.LlamaAdapterConfig;
import dev.peft4j.peft.llamaadapter.MultimodalBatch;
import dev.peft4j.peft.llamaadapter.MultimodalObjective;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.peft.prefix.PrefixTuningConfig;
import dev.peft4j.peft.prompt.PTuningConfig;
import dev.peft4j.peft.prompt.PromptTuningConfig;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.CountingTask;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Gradient checkpointing gives the loss and gradients of an ordinary backward pass (f32 and bf16), for
 * every architecture and for methods inside the layers (LoRA with dropout, prefix tuning,
 * multimodal LLaMA-Adapter) and before them (prompt tuning, P-tuning), and so trains the same
 * adapter. The lean causal-LM
 * loss equals the textbook formula.
 */
class GradientCheckpointingTest {
  /** Largest difference allowed, relative to the largest magnitude of the ordinary gradient tensor. */
  private static final double RTOL = 1e-5;

  @TempDir Path dir;

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of("llama", "LoRA with dropout", LoraConfig.builder().r(4).loraDropout(0.2).allLinear().build()),
        Arguments.of("llama", "prompt tuning", PromptTuningConfig.builder().numVirtualTokens(3).build()),
        Arguments.of("llama", "P-tuning (LSTM)", PTuningConfig.builder().numVirtualTokens(3)
            .encoderType(PTuningConfig.EncoderType.LSTM).encoderHiddenSize(16).build()),
        Arguments.of("llama", "prefix tuning (MLP)", PrefixTuningConfig.builder().numVirtualTokens(3)
            .prefixProjection(true).encoderHiddenSize(16).build()),
        Arguments.of("gpt2", "LoRA with dropout", LoraConfig.builder().r(4).loraDropout(0.2).allLinear().build()),
        Arguments.of("gpt2", "prompt tuning", PromptTuningConfig.builder().numVirtualTokens(3).build()),
        Arguments.of("gpt2", "LoRA on wte and c_attn", LoraConfig.builder().r(4).targetModules("wte", "c_attn")
            .init(LoraConfig.LoraInit.RANDOM).build()),
        Arguments.of("bert", "LoRA", LoraConfig.builder().r(4).loraDropout(0.2).targetModules("query", "value")
            .modulesToSave("classifier").taskType(TaskType.SEQ_CLS).build()),
        Arguments.of("bert", "prompt tuning", PromptTuningConfig.builder().numVirtualTokens(3)
            .taskType(TaskType.SEQ_CLS).build()));
  }

  @ParameterizedTest(name = "{0}, {1}")
  @MethodSource("cases")
  void checkpointedBackwardGivesTheOrdinaryLossAndGradients(String architecture, String method, PeftConfig config)
      throws Exception {
    PeftModel peft = model(architecture, config);
    TrainingObjective<Batch> objective = architecture.equals("bert")
        ? new ClassificationObjective(peft) : new CausalLmObjective(peft);
    try (Scope scope = Scope.open()) {
      assertSameLossAndGradients(objective, architecture.equals("bert") ? classificationBatch() : lmBatch());
    }
  }

  /**
   * In bf16 the recomputed forward runs the same kernels on the same inputs as the first (the
   * attention upcast to f32 included, since a backward follows both times), so the gradients of
   * the f32 LoRA matrices agree as closely as in f32.
   */
  @Test
  void checkpointingABf16ModelGivesTheOrdinaryGradients() throws Exception {
    PeftModel peft = model("llama", LoraConfig.builder().r(4).loraDropout(0.2).allLinear().build(), DType.BF16);
    assertThat(peft.trainableParameters().values()).allSatisfy(p -> assertThat(p.value().dtype()).isEqualTo(DType.F32));
    try (Scope scope = Scope.open()) {
      assertSameLossAndGradients(new CausalLmObjective(peft), lmBatch());
    }
  }

  @Test
  void multimodalLlamaAdapterKeepsItsImageFeaturesThroughTheRecomputation() throws Exception {
    PeftModel peft = model("llama", LlamaAdapterConfig.builder().adapterLen(3).adapterLayers(2).visualFeatureDim(6).build());
    try (Scope scope = Scope.open()) {
      Tensor features = Tensor.of(new float[] {1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0}, 2, 6);
      assertSameLossAndGradients(new MultimodalObjective(peft), new MultimodalBatch(lmBatch(), features));
    }
  }

  private static <B> void assertSameLossAndGradients(TrainingObjective<B> objective, B batch) {
    Map<String, float[]> ordinary = new LinkedHashMap<>();
    Map<String, float[]> checkpointed = new LinkedHashMap<>();
    double plainLoss = gradients(objective, batch, false, ordinary);
    double checkpointedLoss = gradients(objective, batch, true, checkpointed);

    assertThat(checkpointedLoss).isCloseTo(plainLoss, within(RTOL * Math.abs(plainLoss)));
    assertThat(checkpointed.keySet()).isEqualTo(ordinary.keySet());
    assertThat(ordinary).as("trainable parameters with a gradient").isNotEmpty();
    ordinary.forEach((name, expected) -> {
      double scale = maxAbs(expected);
      assertThat(scale).as(name + ": a gradient that can differ").isGreaterThan(0);
      assertThat(maxAbsDiff(checkpointed.get(name), expected)).as(name).isLessThanOrEqualTo(RTOL * scale);
    });
  }

  @Test
  void aCheckpointedRunTrainsTheSameAdapter() throws Exception {
    LoraConfig config = LoraConfig.builder().r(4).loraDropout(0.1).targetModules("q_proj", "v_proj", "down_proj").build();
    Map<String, float[]> plain = train(model("llama", config), false);
    Map<String, float[]> checkpointed = train(model("llama", config), true);
    assertThat(checkpointed.keySet()).isEqualTo(plain.keySet());
    plain.forEach((name, expected) ->
        assertThat(maxAbsDiff(checkpointed.get(name), expected)).as(name).isLessThanOrEqualTo(1e-4 * maxAbs(expected)));
  }

  @Test
  void anObjectiveWithoutStagesIsRefusedClearly() throws Exception {
    CausalLmObjective inner = new CausalLmObjective(model("llama", LoraConfig.builder().r(2).targetModules("q_proj").build()));
    TrainingObjective<Batch> unstaged = new TrainingObjective<>() {
      @Override public Map<String, Parameter> trainableParameters() { return inner.trainableParameters(); }
      @Override public Tensor loss(Batch batch) { return inner.loss(batch); }
      @Override public EvalStats evaluate(Batch batch) { return inner.evaluate(batch); }
    };
    Trainer<Batch> trainer = Trainer.builder(unstaged, CountingTask.batches(CountingTask.sequences(8, 1), false))
        .maxSteps(1).gradientCheckpointing(true).build();
    assertThatThrownBy(trainer::train).isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("does not support gradient checkpointing");
  }

  @Test
  void theShiftedLossEqualsTheTextbookFormula() {
    long b = 2;
    long t = 5;
    int v = 7;
    long[] labels = {-100, 3, 6, 0, 2, -100, -100, 5, 1, -100}; // prompt and padding positions ignored
    try (Scope scope = Scope.open()) {
      Engine.manualSeed(3);
      Tensor logits = Tensor.randn(DType.F32, b, t, v).mul(3.0);
      double actual = CausalLmObjective.shiftedLoss(logits, Tensor.ofLongs(labels, b, t)).item();
      // mean over scored positions of -log softmax(logits[r, i])[labels[r, i + 1]]
      float[] z = logits.toFloatArray();
      double sum = 0;
      int count = 0;
      for (int r = 0; r < b; r++) {
        for (int i = 0; i + 1 < t; i++) {
          long target = labels[(int) (r * t + i + 1)];
          if (target == -100) {
            continue;
          }
          int row = (int) ((r * t + i) * v);
          double max = Double.NEGATIVE_INFINITY;
          for (int c = 0; c < v; c++) {
            max = Math.max(max, z[row + c]);
          }
          double norm = 0;
          for (int c = 0; c < v; c++) {
            norm += Math.exp(z[row + c] - max);
          }
          sum += -(z[row + (int) target] - max - Math.log(norm));
          count++;
        }
      }
      assertThat(count).isEqualTo(6);
      assertThat(actual).isCloseTo(sum / count, within(1e-6));
    }
  }

  // ---------------------------------------------------------------- helpers

  private PeftModel model(String architecture, PeftConfig config) throws Exception {
    return model(architecture, config, DType.F32);
  }

  private PeftModel model(String architecture, PeftConfig config, DType dtype) throws Exception {
    TinyCheckpoint checkpoint = switch (architecture) {
      case "llama" -> TinyCheckpoint.llama();
      case "gpt2" -> TinyCheckpoint.gpt2();
      default -> TinyCheckpoint.bert();
    };
    Path path = checkpoint.writeTo(dir.resolve(architecture + System.nanoTime()));
    Engine.manualSeed(1);
    PretrainedModel base = AutoModel.load(path, LoadOptions.defaults().withDType(dtype));
    if (architecture.equals("bert")) {
      base = new SequenceClassifier(base, "bert", List.of("a", "b", "c"), SequenceClassifier.Pooling.MEAN);
    }
    PeftModel peft = Peft.wrap(base, config);
    TrainTesting.perturb(peft.trainableParameters());
    return peft;
  }

  /** Three rows of 6 tokens, the last padded by 3, with class ids. */
  private static Batch classificationBatch() {
    long[] ids = {2, 9, 8, 7, 11, 3, 2, 30, 21, 17, 5, 3, 2, 14, 3, 0, 0, 0};
    long[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
    return new Batch(Tensor.ofLongs(ids, 3, 6), Tensor.ofLongs(mask, 3, 6), Tensor.ofLongs(new long[] {2, 0, 1}, 3), 15);
  }

  /** The loss of one backward pass (from the same generator state), and each parameter's gradient, which is then dropped. */
  private static <B> double gradients(TrainingObjective<B> objective, B batch, boolean checkpointing,
      Map<String, float[]> out) {
    Engine.manualSeed(7);
    double loss;
    try (Scope scope = Scope.open()) {
      loss = objective.backward(batch, 1, checkpointing);
    }
    takeGradients(objective.trainableParameters(), out);
    return loss;
  }

  private static Map<String, float[]> train(PeftModel peft, boolean checkpointing) throws Exception {
    Trainer.builder(new CausalLmObjective(peft), CountingTask.batches(CountingTask.sequences(32, 4), true))
        .optimizer(AdamWConfig.withLr(1e-2)).maxSteps(8).gradientCheckpointing(checkpointing).build().train();
    Map<String, float[]> values = new LinkedHashMap<>();
    peft.trainableParameters().forEach((name, p) -> values.put(name, p.value().toFloatArray()));
    return values;
  }
}
