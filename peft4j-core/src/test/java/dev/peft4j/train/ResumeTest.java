package dev.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.tensor.DType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Checkpoint, crash and resume: a resumed run is bit-identical to an uninterrupted one. The toy
 * loss applies dropout (libtorch RNG) and the data are reshuffled per epoch (4 batches per
 * epoch, so step 7 is in the second epoch), so RNG state and data position both matter.
 */
class ResumeTest {
  @TempDir Path dir;

  static final ToyRegression TOY = new ToyRegression(4, 3, 16, 21);
  static final int MAX_STEPS = 10;

  /** Step → loss, recorded from onStep; throws at {@code crashAt} (0: never). */
  static final class Recorder implements TrainingListener {
    final Map<Long, Double> losses = new LinkedHashMap<>();
    final long crashAt;

    Recorder(long crashAt) {
      this.crashAt = crashAt;
    }

    @Override
    public void onStep(StepMetrics m) {
      losses.put(m.step(), m.loss());
      if (m.step() == crashAt) {
        throw new IllegalStateException("simulated crash at step " + m.step());
      }
    }
  }

  static Trainer<ToyRegression.Batch> trainer(ToyRegression.Model model, Path out, int accumulation,
      int keepLast, TrainingListener listener) {
    return Trainer.builder(ToyRegression.objective(model, 0.25), TOY.source(4, DType.F32))
        .optimizer(AdamWConfig.withLr(0.03))
        .schedule(LrSchedule.linear(2, MAX_STEPS))
        .maxSteps(MAX_STEPS).gradientAccumulation(accumulation).clipGradNorm(0.5)
        .evalData(TOY.source(16, DType.F32)).evalEvery(2).earlyStoppingPatience(50)
        .seed(1234).outputDir(out).checkpointEvery(3).keepLastCheckpoints(keepLast)
        .listener(listener)
        .build();
  }

  /** Runs steps 1..6, crashing in step 7's listener call, i.e. after checkpoint-6 and before checkpoint-9. */
  static Recorder crashAtSeven(Path out, int accumulation) throws IOException {
    Recorder crashed = new Recorder(7);
    ToyRegression.Model model = TOY.newModel(DType.F32, 1);
    assertThatThrownBy(() -> trainer(model, out, accumulation, 2, crashed).train())
        .hasMessageContaining("simulated crash at step 7");
    assertThat(CheckpointStore.latest(out).orElseThrow().state().step()).isEqualTo(6);
    return crashed;
  }

  @ParameterizedTest(name = "gradient accumulation {0}")
  @ValueSource(ints = {1, 2})
  void resumedRunIsBitIdenticalToAnUninterruptedOne(int accumulation) throws Exception {
    Recorder full = new Recorder(0);
    ToyRegression.Model uninterrupted = TOY.newModel(DType.F32, 1);
    trainer(uninterrupted, dir.resolve("full"), accumulation, 2, full).train();
    assertThat(full.losses).hasSize(MAX_STEPS);

    Path out = dir.resolve("crashed");
    Recorder crashed = crashAtSeven(out, accumulation);
    for (long s = 1; s <= 7; s++) {
      assertThat(crashed.losses.get(s)).as("step %s before the crash", s).isEqualTo(full.losses.get(s));
    }

    // a fresh model with different initial weights: everything must come from the checkpoint
    ToyRegression.Model resumedModel = TOY.newModel(DType.F32, 999);
    Recorder resumed = new Recorder(0);
    TrainingResult result = trainer(resumedModel, out, accumulation, 2, resumed).resume(out);

    assertThat(resumed.losses.keySet()).containsExactly(7L, 8L, 9L, 10L);
    for (long s = 7; s <= MAX_STEPS; s++) {
      assertThat(Double.doubleToRawLongBits(resumed.losses.get(s))).as("loss bits of step %s", s)
          .isEqualTo(Double.doubleToRawLongBits(full.losses.get(s)));
    }
    assertThat(resumedModel.weight.value().toBytes().array()).isEqualTo(uninterrupted.weight.value().toBytes().array());
    assertThat(resumedModel.bias.value().toBytes().array()).isEqualTo(uninterrupted.bias.value().toBytes().array());
    assertThat(result.steps()).isEqualTo(MAX_STEPS);
    assertThat(result.lastCheckpoint()).hasValue(out.resolve("checkpoint-10"));
  }

  @Test
  void staleTemporaryDirectoryIsIgnoredAndThenCleanedUp() throws Exception {
    Path out = dir.resolve("stale");
    crashAtSeven(out, 1);
    // a crash while writing checkpoint-9: its temp dir even looks complete, with a step-9 state
    Path stale = out.resolve("checkpoint-9.tmp-x");
    Files.createDirectory(stale);
    try (Stream<Path> files = Files.list(out.resolve("checkpoint-6"))) {
      for (Path f : files.toList()) {
        Files.copy(f, stale.resolve(f.getFileName()));
      }
    }
    Path state = stale.resolve(CheckpointStore.STATE_FILE);
    Files.writeString(state, Files.readString(state, StandardCharsets.UTF_8)
        .replace("\"step\" : 6", "\"step\" : 9"), StandardCharsets.UTF_8);
    assertThat(Files.readString(state)).contains("\"step\" : 9");
    // and a checkpoint directory that lost its state file
    Path broken = out.resolve("checkpoint-8");
    Files.createDirectory(broken);
    Files.copy(out.resolve("checkpoint-6").resolve(CheckpointStore.PARAMETERS_FILE),
        broken.resolve(CheckpointStore.PARAMETERS_FILE));

    assertThat(CheckpointStore.latest(out).orElseThrow().directory().getFileName().toString())
        .isEqualTo("checkpoint-6");
    Recorder resumed = new Recorder(0);
    trainer(TOY.newModel(DType.F32, 1), out, 1, 2, resumed).resume(out);
    assertThat(resumed.losses.keySet()).containsExactly(7L, 8L, 9L, 10L);
    assertThat(stale).doesNotExist();
  }

  @Test
  void keepsOnlyTheNewestCheckpoints() throws Exception {
    Path out = dir.resolve("prune");
    List<Long> written = new ArrayList<>();
    ToyRegression.Model model = TOY.newModel(DType.F32, 1);
    // checkpoints at 3, 6, 9 and the final 10; keep 3
    trainer(model, out, 1, 3, new TrainingListener() {
      @Override
      public void onCheckpoint(long step, Path directory) {
        written.add(step);
        assertThat(directory).isEqualTo(out.resolve("checkpoint-" + step));
      }
    }).train();
    assertThat(written).containsExactly(3L, 6L, 9L, 10L);
    assertThat(CheckpointStore.list(out)).extracting(c -> c.directory().getFileName().toString())
        .containsExactly("checkpoint-6", "checkpoint-9", "checkpoint-10");
    try (Stream<Path> children = Files.list(out)) {
      assertThat(children.map(p -> p.getFileName().toString()).sorted().toList())
          .containsExactly("checkpoint-10", "checkpoint-6", "checkpoint-9", "loss_curve.png", "metrics.jsonl");
    }
    // keep-last 2 (the default of the resume tests' trainer) after a full run
    Path two = dir.resolve("two");
    trainer(TOY.newModel(DType.F32, 1), two, 1, 2, new TrainingListener() {}).train();
    assertThat(CheckpointStore.list(two)).extracting(c -> c.state().step()).containsExactly(9L, 10L);
  }

  @Test
  void resumeRefusesADifferentConfigurationAndAMissingCheckpoint() throws Exception {
    Path out = dir.resolve("mismatch");
    crashAtSeven(out, 1);
    assertThatThrownBy(() -> trainer(TOY.newModel(DType.F32, 1), out, 2, 2, new TrainingListener() {}).resume(out))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("gradient accumulation (checkpoint: 1, this trainer: 2)");
    assertThatThrownBy(() -> trainer(TOY.newModel(DType.F32, 1), dir.resolve("empty"), 1, 2,
        new TrainingListener() {}).resume(dir.resolve("empty")))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("no complete checkpoint");
  }
}
