package dev.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
  @TempDir Path dir;

  static EvalResult evaluate(ToyRegression toy, ToyRegression.Model model) {
    return Evaluation.run(ToyRegression.objective(model, 0), toy.source(toy.rows, DType.F32), 0);
  }

  @Test
  void lossDecreasesOnTheToyProblem() throws Exception {
    ToyRegression toy = new ToyRegression(4, 2, 64, 7);
    ToyRegression.Model model = toy.newModel(DType.F32, 1);
    byte[] frozenBefore = model.frozen.value().toBytes().array();
    double initial = evaluate(toy, model).loss();
    List<Double> losses = new ArrayList<>();
    TrainingResult result = Trainer.builder(ToyRegression.objective(model, 0), toy.source(8, DType.F32))
        .optimizer(AdamWConfig.withLr(0.05))
        .schedule(LrSchedule.cosine(10, 300))
        .maxSteps(300)
        .clipGradNorm(5.0)
        .listener(new TrainingListener() {
          @Override
          public void onStep(StepMetrics m) {
            losses.add(m.loss());
          }
        })
        .build().train();
    double last = evaluate(toy, model).loss();
    assertThat(result.steps()).isEqualTo(300);
    assertThat(result.stopReason()).isEqualTo(TrainingResult.StopReason.MAX_STEPS);
    assertThat(losses).hasSize(300);
    assertThat(last).as("eval MSE after training vs before (%s)", initial).isLessThan(0.05 * initial);
    assertThat(last).isLessThan(0.05); // noise variance is 0.01
    assertThat(model.frozen.value().toBytes().array()).as("frozen weight").isEqualTo(frozenBefore);
  }

  @Test
  void accumulatingTwoMicroBatchesEqualsOneBatchOfBoth() throws Exception {
    // MSE is a mean over equal-sized micro-batches, so ½∇L(b1) + ½∇L(b2) = ∇L(b1 ∪ b2) exactly in
    // real arithmetic; in float64 the runs agree to rounding (tolerance 1e-12 relative, observed ~1e-16).
    ToyRegression toy = new ToyRegression(5, 3, 48, 11);
    ToyRegression.Model accumulated = toy.newModel(DType.F64, 3);
    ToyRegression.Model whole = toy.newModel(DType.F64, 3);
    List<Double> lossesA = new ArrayList<>();
    List<Double> lossesW = new ArrayList<>();
    Trainer.builder(ToyRegression.objective(accumulated, 0), toy.source(4, DType.F64))
        .optimizer(AdamWConfig.withLr(0.02)).maxSteps(12).gradientAccumulation(2).clipGradNorm(1.0)
        .listener(recordLosses(lossesA)).build().train();
    Trainer.builder(ToyRegression.objective(whole, 0), toy.source(8, DType.F64))
        .optimizer(AdamWConfig.withLr(0.02)).maxSteps(12).clipGradNorm(1.0)
        .listener(recordLosses(lossesW)).build().train();
    for (int i = 0; i < 12; i++) {
      assertThat(lossesA.get(i)).isCloseTo(lossesW.get(i), within(1e-12 * Math.abs(lossesW.get(i))));
    }
    for (String name : new String[] {"weight", "bias"}) {
      Parameter a = accumulated.namedParameters().get(name);
      Parameter w = whole.namedParameters().get(name);
      try (Scope scope = Scope.open()) {
        double diff = a.value().sub(w.value()).abs().max().item();
        double scale = w.value().abs().max().item();
        assertThat(diff).as(name).isLessThanOrEqualTo(1e-12 * scale);
      }
    }
  }

  static TrainingListener recordLosses(List<Double> out) {
    return new TrainingListener() {
      @Override
      public void onStep(StepMetrics m) {
        out.add(m.loss());
      }
    };
  }

  @Test
  void writesMetricsJsonLinesAndALossCurvePng() throws Exception {
    ToyRegression toy = new ToyRegression(4, 2, 32, 5);
    ToyRegression.Model model = toy.newModel(DType.F32, 2);
    Path out = dir.resolve("run");
    TrainingResult result = Trainer.builder(ToyRegression.objective(model, 0.1), toy.source(4, DType.F32))
        .evalData(toy.source(16, DType.F32)).evalEvery(5)
        .optimizer(AdamWConfig.withLr(0.05)).schedule(LrSchedule.linear(2, 20))
        .maxSteps(20).logEvery(2).outputDir(out)
        .build().train();
    assertThat(result.evaluations()).hasSize(4);
    assertThat(result.evaluations().get(0).perplexity())
        .isCloseTo(Math.exp(result.evaluations().get(0).loss()), within(1e-9));
    assertThat(result.evaluations().get(0).accuracy()).isEmpty();

    ObjectMapper json = new ObjectMapper();
    List<String> lines = Files.readAllLines(out.resolve(Trainer.METRICS_FILE), StandardCharsets.UTF_8);
    List<JsonNode> train = new ArrayList<>();
    List<JsonNode> eval = new ArrayList<>();
    for (String line : lines) {
      JsonNode node = json.readTree(line); // throws if a line is not valid JSON
      assertThat(node.isObject()).isTrue();
      (node.get("type").asText().equals("train") ? train : eval).add(node);
    }
    assertThat(train).hasSize(10);
    assertThat(eval).hasSize(4);
    for (int i = 0; i < train.size(); i++) {
      JsonNode n = train.get(i);
      assertThat(n.get("step").asLong()).isEqualTo(2L * (i + 1));
      assertThat(n.get("loss").isNumber()).isTrue();
      assertThat(n.get("lr").asDouble()).isCloseTo(LrSchedule.linear(2, 20).lr(0.05, n.get("step").asLong() - 1), within(1e-15));
      assertThat(n.get("grad_norm").isNumber()).isTrue();
      assertThat(n.get("tokens_per_second").asDouble()).isPositive();
    }
    assertThat(eval.get(3).get("step").asLong()).isEqualTo(20);
    assertThat(eval.get(3).get("eval_loss").asDouble()).isEqualTo(result.evaluations().get(3).loss());

    BufferedImage png = ImageIO.read(out.resolve(Trainer.PLOT_FILE).toFile());
    assertThat(png).isNotNull();
    assertThat(png.getWidth()).isEqualTo(LossCurvePlot.DEFAULT_WIDTH).isEqualTo(800);
    assertThat(png.getHeight()).isEqualTo(LossCurvePlot.DEFAULT_HEIGHT).isEqualTo(500);

    Path custom = dir.resolve("custom.png");
    LossCurvePlot.write(custom, List.of(new LossCurvePlot.Point(1, 2.0), new LossCurvePlot.Point(2, 1.5)),
        List.of(new LossCurvePlot.Point(2, 1.7)), 640, 360);
    BufferedImage c = ImageIO.read(custom.toFile());
    assertThat(c.getWidth()).isEqualTo(640);
    assertThat(c.getHeight()).isEqualTo(360);
  }

  @Test
  void earlyStoppingCountsEvaluationsWithoutImprovement() throws Exception {
    ToyRegression toy = new ToyRegression(2, 1, 8, 3);
    ToyRegression.Model model = toy.newModel(DType.F32, 2);
    TrainingObjective<ToyRegression.Batch> base = ToyRegression.objective(model, 0);
    double[] scripted = {1.0, 0.5, 0.6, 0.7, 0.4};
    AtomicInteger evals = new AtomicInteger();
    TrainingObjective<ToyRegression.Batch> scriptedEval = new TrainingObjective<>() {
      @Override
      public Map<String, Parameter> trainableParameters() {
        return base.trainableParameters();
      }

      @Override
      public Tensor loss(ToyRegression.Batch batch) {
        return base.loss(batch);
      }

      @Override
      public EvalStats evaluate(ToyRegression.Batch batch) {
        return EvalStats.of(scripted[evals.getAndIncrement()] * 8, 8, 6);
      }
    };
    TrainingResult result = Trainer.builder(scriptedEval, toy.source(4, DType.F32))
        .evalData(toy.source(8, DType.F32)).evalEvery(2).earlyStoppingPatience(2).maxSteps(100)
        .build().train();
    assertThat(result.stopReason()).isEqualTo(TrainingResult.StopReason.EARLY_STOPPING);
    assertThat(result.steps()).isEqualTo(8);
    assertThat(result.evaluations()).extracting(EvalResult::loss).containsExactly(1.0, 0.5, 0.6, 0.7);
    assertThat(result.bestEvalLoss()).hasValue(0.5);
    assertThat(result.evaluations().get(1).perplexity()).isCloseTo(Math.exp(0.5), within(1e-12));
    assertThat(result.evaluations().get(1).accuracy()).hasValue(0.75);
  }

  @Test
  void nanLossStopsWithTheStepNamedAndTheLastCheckpointLoadable() throws Exception {
    ToyRegression toy = new ToyRegression(3, 2, 32, 9);
    ToyRegression.Model model = toy.newModel(DType.F32, 4);
    BatchSource<ToyRegression.Batch> clean = toy.source(4, DType.F32);
    BatchSource<ToyRegression.Batch> poisoned = new BatchSource<>() {
      @Override
      public int batchesPerEpoch() {
        return clean.batchesPerEpoch();
      }

      @Override
      public ToyRegression.Batch batch(int epoch, int index) {
        ToyRegression.Batch b = clean.batch(epoch, index);
        return epoch == 0 && index == 4 ? new ToyRegression.Batch(b.x().mul(Double.NaN), b.y(), b.n()) : b;
      }
    };
    Path out = dir.resolve("nan");
    Trainer<ToyRegression.Batch> trainer = Trainer.builder(ToyRegression.objective(model, 0), poisoned)
        .optimizer(AdamWConfig.withLr(0.01)).maxSteps(10).outputDir(out).checkpointEvery(2)
        .build();
    assertThatThrownBy(trainer::train)
        .isInstanceOf(TrainingDivergedException.class)
        .hasMessageContaining("training diverged at step 5: loss is NaN on batch 4 of epoch 0")
        .hasMessageContaining("checkpoint-4")
        .satisfies(e -> assertThat(((TrainingDivergedException) e).step()).isEqualTo(5));

    Checkpoint last = CheckpointStore.latest(out).orElseThrow();
    assertThat(last.directory().getFileName().toString()).isEqualTo("checkpoint-4");
    assertThat(last.state().step()).isEqualTo(4);
    try (Scope scope = Scope.open()) {
      Map<String, Tensor> saved = last.parameters();
      assertThat(saved.keySet()).containsExactlyInAnyOrder("weight", "bias");
      // the diverged step made no update, so the live weights are still the checkpoint's
      assertThat(saved.get("weight").toBytes().array()).isEqualTo(model.weight.value().toBytes().array());
      assertThat(saved.get("weight").allFinite()).isTrue();
      try (AdamW adamW = new AdamW(model.namedParameters(), AdamWConfig.withLr(0.01))) {
        adamW.loadStateDict(last.optimizerState());
        assertThat(adamW.stepCount("weight")).isEqualTo(4);
      }
    }
    assertThat(model.weight.value().grad()).isNull();
  }

  @Test
  void builderRejectsContradictions() {
    ToyRegression toy = new ToyRegression(2, 1, 8, 3);
    ToyRegression.Model model = toy.newModel(DType.F32, 2);
    var b = Trainer.builder(ToyRegression.objective(model, 0), toy.source(4, DType.F32));
    assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class).hasMessageContaining("maxSteps or epochs");
    b.epochs(3);
    assertThatThrownBy(() -> b.maxSteps(5)).isInstanceOf(IllegalStateException.class).hasMessageContaining("epochs");
    assertThatThrownBy(() -> b.epochs(4)).isInstanceOf(IllegalStateException.class).hasMessageContaining("already set");
    assertThat(b.build().maxSteps()).isEqualTo(6);
    b.checkpointEvery(2);
    assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class).hasMessageContaining("outputDir");
  }

  @Test
  void residentMemoryIsFlatAcrossSteps() throws Exception {
    // a 512x512 f32 weight: a leaked gradient, moment or weight-sized temporary per step is 1 MiB,
    // so 80 leaking steps would grow by >= 80 MiB against the 32 MiB allowed
    ToyRegression toy = new ToyRegression(512, 512, 32, 13);
    ToyRegression.Model model = toy.newModel(DType.F32, 5);
    long[] rss = new long[2];
    Trainer.builder(ToyRegression.objective(model, 0.1), toy.source(8, DType.F32))
        .optimizer(AdamWConfig.withLr(1e-3)).maxSteps(95).gradientAccumulation(2).clipGradNorm(1.0)
        .listener(new TrainingListener() {
          @Override
          public void onStep(StepMetrics m) {
            if (m.step() == 15) {
              rss[0] = Pointer.physicalBytes();
            } else if (m.step() == 95) {
              rss[1] = Pointer.physicalBytes();
            }
          }
        })
        .build().train();
    assertThat(rss[1] - rss[0]).as("RSS growth over 80 steps, bytes").isLessThan(32L << 20);
  }
}
