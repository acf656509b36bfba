package dev.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.data.Batch;
import dev.peft4j.data.EncodedExample;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.testing.CountingTask;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LoRA fine-tuning of a tiny LLaMA through the Trainer: loss falls, base stays frozen, resume is exact. */
class LoraTrainingTest {
  @TempDir Path dir;

  private PeftModel model(String sub, double dropout) throws Exception {
    PretrainedModel base = AutoModel.load(TinyCheckpoint.llama().writeTo(dir.resolve(sub)), LoadOptions.defaults());
    dev.peft4j.tensor.Engine.manualSeed(1); // the same LoRA initialisation for every run
    return Peft.wrap(base, LoraConfig.builder().r(8).loraAlpha(16).loraDropout(dropout)
        // the random tiny base has near-zero logits (std 0.02 weights); adapting lm_head too lets them grow
        .targetModules("q_proj", "v_proj", "o_proj", "up_proj", "down_proj", "lm_head").build());
  }

  @Test
  void loraFineTuneDrivesLossDownAndLeavesTheBaseBitIdentical() throws Exception {
    PeftModel peft = model("m", 0);
    Map<String, float[]> frozen = new HashMap<>();
    peft.baseModel().namedParameters().forEach((n, p) -> {
      if (!p.trainable()) {
        frozen.put(n, p.value().toFloatArray());
      }
    });
    CausalLmObjective objective = new CausalLmObjective(peft);
    BatchSource<Batch> eval = CountingTask.batches(CountingTask.sequences(32, 2), false);
    EvalResult before = Evaluation.run(objective, eval, 0);
    List<Double> losses = new ArrayList<>();
    TrainingResult result = Trainer.builder(objective, CountingTask.batches(CountingTask.sequences(128, 1), true))
        .optimizer(AdamWConfig.withLr(1e-2)).schedule(LrSchedule.linear(5, 80)).maxSteps(80)
        .listener(new TrainingListener() {
          @Override public void onStep(StepMetrics m) { losses.add(m.loss()); }
        }).build().train();
    EvalResult after = Evaluation.run(objective, eval, result.steps());

    assertThat(after.loss()).as("held-out loss").isLessThan(0.5 * before.loss());
    assertThat(CountingTask.mean(losses.subList(70, 80))).isLessThan(0.5 * CountingTask.mean(losses.subList(0, 10)));
    for (int window = 0; window + 20 <= 80; window += 20) {
      // steadily: each 20-step window's mean is below the previous one's
      if (window > 0) {
        assertThat(CountingTask.mean(losses.subList(window, window + 20))).as("window at " + window)
            .isLessThan(CountingTask.mean(losses.subList(window - 20, window)));
      }
    }
    peft.baseModel().namedParameters().forEach((n, p) -> {
      if (frozen.containsKey(n)) {
        assertThat(p.value().toFloatArray()).as(n).containsExactly(frozen.get(n));
      }
    });
  }

  @Test
  void resumeAfterACrashContinuesBitIdentically() throws Exception {
    List<EncodedExample> data = CountingTask.sequences(48, 5);
    // uninterrupted
    PeftModel a = model("a", 0.1);
    List<Double> lossesA = new ArrayList<>();
    trainer(a, data, dir.resolve("runA"), lossesA, Long.MAX_VALUE).train();

    // crashes after step 6 (a checkpoint was written at step 4), then resumes in a fresh process-like setup
    PeftModel b = model("b", 0.1);
    List<Double> lossesB = new ArrayList<>();
    assertThatThrownBy(() -> trainer(b, data, dir.resolve("runB"), lossesB, 6).train())
        .hasMessageContaining("simulated crash");
    assertThat(lossesB).containsExactlyElementsOf(lossesA.subList(0, 6));
    PeftModel c = model("c", 0.1);
    dev.peft4j.tensor.Engine.manualSeed(99); // the resumed run must not depend on the RNG state it starts with
    List<Double> lossesC = new ArrayList<>();
    trainer(c, data, dir.resolve("runB"), lossesC, Long.MAX_VALUE).resume(dir.resolve("runB"));

    assertThat(lossesC).containsExactlyElementsOf(lossesA.subList(4, 12));
    Map<String, Parameter> finalA = a.trainableParameters();
    c.trainableParameters().forEach((name, p) ->
        assertThat(p.value().toFloatArray()).as(name).containsExactly(finalA.get(name).value().toFloatArray()));
  }

  private static Trainer<Batch> trainer(PeftModel peft, List<EncodedExample> data, Path out, List<Double> losses,
      long crashAfter) {
    return Trainer.builder(new CausalLmObjective(peft), CountingTask.batches(data, true))
        .optimizer(AdamWConfig.withLr(5e-3)).schedule(LrSchedule.cosine(2, 12)).maxSteps(12)
        .outputDir(out).checkpointEvery(4).seed(7)
        .listener(new TrainingListener() {
          @Override public void onStep(StepMetrics m) {
            losses.add(m.loss());
            if (m.step() == crashAfter) {
              throw new IllegalStateException("simulated crash at step " + m.step());
            }
          }
        }).build();
  }

}
