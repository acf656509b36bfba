package dev.peft4j.train;

import static dev.peft4j.peft.PeftTesting.maxAbs;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static dev.peft4j.train.TrainTesting.lmBatch;
import static dev.peft4j.train.TrainTesting.takeGradients;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.peft4j.data.Batch;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.prompt.PromptTuningConfig;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The chunked cross-entropy (closed-form gradient, a chunk of positions at a time) gives the loss
 * and gradients of libtorch's autograd through {@code cross_entropy} on the whole batch's logits:
 * for a bare linear head at any chunk size and divisor, in float32 and bfloat16, and through the
 * causal-LM objective for LoRA (the LM head among its targets), full fine-tuning of a tied model
 * and prompt tuning.
 */
class ChunkedCrossEntropyTest {
  /** Largest difference allowed in float32, relative to the largest magnitude of the reference. */
  private static final double RTOL = 1e-5;
  private static final int VOCAB = 11;
  private static final int HIDDEN = 6;

  @TempDir Path dir;

  /** 2 rows of 5 positions: targets with ignored positions (prompt, padding, the last of a row). */
  private static final long[] TARGETS = {-100, 3, 6, 0, -100, 2, 10, -100, 5, -100};

  @ParameterizedTest(name = "{0} positions per chunk")
  @ValueSource(longs = {1, 2, 4, 100})
  void aLinearHeadGetsAutogradsLossAndGradientsAtAnyChunkSize(long chunkPositions) {
    try (Scope scope = Scope.open()) {
      Case chunked = Case.random(DType.F32);
      Case reference = chunked.copy();
      double loss = new ChunkedCrossEntropy(chunked::logits, targets(), chunkPositions).backward(chunked.hidden, 3);
      double expected = reference.autogradLoss(3);

      assertThat(loss).isCloseTo(expected, within(RTOL * expected));
      chunked.assertGradientsMatch(reference, RTOL);
    }
  }

  @Test
  void bfloat16LogitsAreScoredInFloat32() {
    try (Scope scope = Scope.open()) {
      Case chunked = Case.random(DType.BF16);
      Case reference = chunked.copy();
      double loss = new ChunkedCrossEntropy(chunked::logits, targets(), 3).backward(chunked.hidden, 1);
      double expected = reference.autogradLoss(1);

      // the same bf16 logits, scored in float32 by both; the gradients are rounded to bf16 once more
      assertThat(loss).isCloseTo(expected, within(1e-5 * expected));
      chunked.assertGradientsMatch(reference, 2e-2);
    }
  }

  @Test
  void aBatchWithNothingScoredHasLossZeroAndNoGradient() {
    try (Scope scope = Scope.open()) {
      Case c = Case.random(DType.F32);
      Tensor none = Tensor.full(DType.I64, ChunkedCrossEntropy.IGNORE, TARGETS.length);
      assertThat(new ChunkedCrossEntropy(c::logits, none, 4).backward(c.hidden, 1)).isZero();
      assertThat(c.hidden.grad()).isNull();
      assertThat(c.weight.grad()).isNull();
    }
  }

  @Test
  void aNonFiniteLossIsReturnedAndStopsTheBackwardPass() {
    try (Scope scope = Scope.open()) {
      Case c = Case.random(DType.F32);
      try (Engine.GradGuard g = Engine.noGrad()) {
        c.weight.mul_(Double.NaN);
      }
      assertThat(new ChunkedCrossEntropy(c::logits, targets(), 2).backward(c.hidden, 1)).isNaN();
      assertThat(c.hidden.grad()).as("nothing reaches the layers below the head").isNull();
    }
  }

  static Stream<Arguments> objectives() {
    return Stream.of(
        Arguments.of("llama", "LoRA on attention, MLP and lm_head",
            LoraConfig.builder().r(4).targetModules("q_proj", "v_proj", "down_proj", "lm_head").build()),
        Arguments.of("llama", "prompt tuning", PromptTuningConfig.builder().numVirtualTokens(3).build()),
        Arguments.of("gpt2", "LoRA", LoraConfig.builder().r(4).allLinear().build()),
        Arguments.of("gpt2", "full fine-tuning (lm_head tied to wte)", null));
  }

  @ParameterizedTest(name = "{0}, {1}")
  @MethodSource("objectives")
  void theCausalLmObjectiveBackPropagatesWhatAutogradDoes(String architecture, String method, PeftConfig config)
      throws Exception {
    CausalLmObjective objective = objective(architecture, config);
    Batch batch = lmBatch();
    Map<String, float[]> reference = new LinkedHashMap<>();
    Map<String, float[]> chunked = new LinkedHashMap<>();
    double expected;
    try (Scope scope = Scope.open()) {
      Tensor loss = objective.loss(batch); // libtorch's cross_entropy on the [B, T, V] logits
      expected = loss.item();
      loss.div(2).backward();
    }
    takeGradients(objective.trainableParameters(), reference);
    double actual;
    try (Scope scope = Scope.open()) {
      actual = objective.backward(batch, 2, false);
    }
    takeGradients(objective.trainableParameters(), chunked);

    assertThat(actual).isCloseTo(expected, within(RTOL * expected));
    assertThat(reference).as("trainable parameters with a gradient").isNotEmpty();
    assertThat(chunked.keySet()).isEqualTo(reference.keySet());
    reference.forEach((name, grad) -> {
      assertThat(maxAbs(grad)).as(name + ": a gradient that can differ").isGreaterThan(0);
      assertThat(maxAbsDiff(chunked.get(name), grad)).as(name).isLessThanOrEqualTo(RTOL * maxAbs(grad));
    });
  }

  @ParameterizedTest(name = "{0}, {1}")
  @MethodSource("objectives")
  void evaluationSumsWhatAutogradsMeanAverages(String architecture, String method, PeftConfig config) throws Exception {
    CausalLmObjective objective = objective(architecture, config);
    Batch batch = lmBatch();
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      EvalStats stats = objective.evaluate(batch);
      double mean = objective.loss(batch).item(); // libtorch's cross_entropy over the [B, T, V] logits
      assertThat(stats.count()).isEqualTo(12); // 16 positions but the 2 row ends and the 2 scored against padding
      assertThat(stats.lossSum()).isCloseTo(mean * 12, within(RTOL * mean * 12));
    }
  }

  // ---------------------------------------------------------------- helpers

  private static Tensor targets() {
    return Tensor.ofLongs(TARGETS, TARGETS.length);
  }

  /** Hidden states [2, 5, HIDDEN] and a linear head [VOCAB, HIDDEN], both leaves that require grad. */
  private record Case(Tensor hidden, Tensor weight) {
    static Case random(DType dtype) {
      Engine.manualSeed(5);
      return new Case(Tensor.randn(DType.F32, 2, 5, HIDDEN).to(dtype).requiresGrad(true),
          Tensor.randn(DType.F32, VOCAB, HIDDEN).mul(2.0).to(dtype).requiresGrad(true));
    }

    Case copy() {
      return new Case(hidden.detach().copy().requiresGrad(true), weight.detach().copy().requiresGrad(true));
    }

    Tensor logits(Tensor x) {
      return Functional.linear(x, weight, null);
    }

    /** libtorch's cross_entropy (mean over scored positions) on float32 logits, back-propagated / divisor. */
    double autogradLoss(int divisor) {
      Tensor loss = Functional.crossEntropy(logits(hidden.reshape(-1, HIDDEN)).to(DType.F32), targets());
      loss.div(divisor).backward();
      return loss.item();
    }

    void assertGradientsMatch(Case reference, double rtol) {
      for (String name : new String[] {"hidden", "weight"}) {
        float[] expected = (name.equals("hidden") ? reference.hidden : reference.weight).grad().to(DType.F32).toFloatArray();
        float[] actual = (name.equals("hidden") ? hidden : weight).grad().to(DType.F32).toFloatArray();
        assertThat(maxAbs(expected)).as(name).isGreaterThan(0);
        assertThat(maxAbsDiff(actual, expected)).as(name).isLessThanOrEqualTo(rtol * maxAbs(expected));
      }
    }
  }

  private CausalLmObjective objective(String architecture, PeftConfig config) throws Exception {
    TinyCheckpoint checkpoint = architecture.equals("llama") ? TinyCheckpoint.llama() : TinyCheckpoint.gpt2();
    Engine.manualSeed(1);
    PretrainedModel base = AutoModel.load(checkpoint.writeTo(dir.resolve(architecture)), LoadOptions.defaults());
    if (config == null) {
      return CausalLmObjective.allWeights(base);
    }
    CausalLmObjective objective = new CausalLmObjective(Peft.wrap(base, config));
    TrainTesting.perturb(objective.trainableParameters());
    return objective;
  }
}
