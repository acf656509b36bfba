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
import dev.peft4j.testing.FrozenWeights;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.ArrayList;
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
    FrozenWeights frozen = FrozenWeights.of(peft.baseModel());
    CountingTask.Run run = CountingTask.train(new CausalLmObjective(peft), 1e-2, 5, 80);

    assertThat(run.after().loss()).as("held-out loss").isLessThan(0.5 * run.before().loss());
    assertThat(run.meanLoss(70, 80)).isLessThan(0.5 * run.meanLoss(0, 10));
    run.assertFallsSteadily(20);
    frozen.assertUnchanged(peft.baseModel());
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
