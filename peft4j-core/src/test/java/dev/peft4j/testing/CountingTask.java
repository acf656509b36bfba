package dev.peft4j.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.data.Batch;
import dev.peft4j.data.DataLoader;
import dev.peft4j.data.EncodedExample;
import dev.peft4j.train.AdamWConfig;
import dev.peft4j.train.BatchSource;
import dev.peft4j.train.DataLoaderSource;
import dev.peft4j.train.EvalResult;
import dev.peft4j.train.Evaluation;
import dev.peft4j.train.LrSchedule;
import dev.peft4j.train.StepMetrics;
import dev.peft4j.train.Trainer;
import dev.peft4j.train.TrainingListener;
import dev.peft4j.train.TrainingObjective;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A small language-modelling task for training tests on tiny LLaMA checkpoints: sequences counting
 * up mod 60 from a random start (stride 1, or 2 for a few) — a rule a tiny model can learn, not
 * memorise by chance.
 */
public final class CountingTask {
  private CountingTask() {}

  /** {@code count} sequences of 12 ids in [1, 60], labels = ids. */
  public static List<EncodedExample> sequences(int count, long seed) {
    Random random = new Random(seed);
    List<EncodedExample> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int start = 1 + random.nextInt(59);
      int stride = random.nextInt(8) == 0 ? 2 : 1;
      int[] ids = new int[12];
      for (int t = 0; t < ids.length; t++) {
        ids[t] = 1 + (start + t * stride) % 60;
      }
      out.add(EncodedExample.lm(ids, ids.clone()));
    }
    return out;
  }

  /** Batches of 8, shuffled per epoch with seed 3 if {@code shuffle}. */
  public static BatchSource<Batch> batches(List<EncodedExample> examples, boolean shuffle) {
    return new DataLoaderSource(DataLoader.builder(examples).batchSize(8).shuffle(shuffle).seed(3).build());
  }

  public static double mean(List<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
  }

  /** Held-out loss before and after training, and the training loss of every step. */
  public record Run(EvalResult before, EvalResult after, List<Double> losses) {
    /** The mean training loss of steps [from, to). */
    public double meanLoss(int from, int to) {
      return mean(losses.subList(from, to));
    }

    /** Asserts that the mean training loss of each {@code window} steps is below the previous window's. */
    public void assertFallsSteadily(int window) {
      for (int from = window; from + window <= losses.size(); from += window) {
        assertThat(meanLoss(from, from + window)).as("mean loss of steps %d..%d", from, from + window - 1)
            .isLessThan(meanLoss(from - window, from));
      }
    }
  }

  /**
   * Trains {@code objective} for {@code steps} on 128 sequences (seed 1, shuffled) with AdamW at
   * {@code lr} under a linear schedule warming up for {@code warmup} steps, and evaluates it on 32
   * other sequences (seed 2) before and after.
   */
  public static Run train(TrainingObjective<Batch> objective, double lr, int warmup, int steps) throws IOException {
    BatchSource<Batch> eval = batches(sequences(32, 2), false);
    EvalResult before = Evaluation.run(objective, eval, 0);
    List<Double> losses = new ArrayList<>();
    long done = Trainer.builder(objective, batches(sequences(128, 1), true))
        .optimizer(AdamWConfig.withLr(lr)).schedule(LrSchedule.linear(warmup, steps)).maxSteps(steps)
        .listener(new TrainingListener() {
          @Override public void onStep(StepMetrics m) { losses.add(m.loss()); }
        }).build().train().steps();
    return new Run(before, Evaluation.run(objective, eval, done), losses);
  }
}
