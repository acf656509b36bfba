package dev.peft4j.train;

import dev.peft4j.data.Batch;
import dev.peft4j.data.DataLoader;

/** A {@link DataLoader} as the trainer's {@link BatchSource}. */
public record DataLoaderSource(DataLoader loader) implements BatchSource<Batch> {
  @Override
  public int batchesPerEpoch() {
    return loader.batchesPerEpoch();
  }

  @Override
  public Batch batch(int epoch, int index) {
    return loader.batch(epoch, index);
  }
}
