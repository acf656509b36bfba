package dev.peft4j.testing;

import dev.peft4j.data.Batch;
import dev.peft4j.data.DataLoader;
import dev.peft4j.data.EncodedExample;
import dev.peft4j.train.BatchSource;
import dev.peft4j.train.DataLoaderSource;
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
}
