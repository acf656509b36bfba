package dev.peft4j.peft.llamaadapter;

import dev.peft4j.data.DataLoader;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.train.BatchSource;

/**
 * A {@link DataLoader}'s batches with each row's image feature: the loader's plan says which
 * examples form a batch, and their features are stacked in the same order.
 */
public final class ImageFeatureBatches implements BatchSource<MultimodalBatch> {
  private final DataLoader loader;
  private final float[][] features; // aligned with loader.examples()

  /**
   * @param features one feature per example of {@code loader} (not packed), all of one width
   * @throws IllegalArgumentException if the counts or widths disagree
   */
  public ImageFeatureBatches(DataLoader loader, float[][] features) {
    if (features.length != loader.examples().size()) {
      throw new IllegalArgumentException(features.length + " image features for " + loader.examples().size()
          + " examples");
    }
    for (float[] f : features) {
      if (f.length != features[0].length) {
        throw new IllegalArgumentException("image features differ in size: " + f.length + " and " + features[0].length);
      }
    }
    this.loader = loader;
    this.features = features;
  }

  @Override
  public int batchesPerEpoch() {
    return loader.batchesPerEpoch();
  }

  @Override
  public MultimodalBatch batch(int epoch, int index) {
    int[] rows = loader.plan(epoch).get(index);
    int width = features[0].length;
    float[] flat = new float[rows.length * width];
    for (int r = 0; r < rows.length; r++) {
      System.arraycopy(features[rows[r]], 0, flat, r * width, width);
    }
    return new MultimodalBatch(loader.batch(epoch, index), Tensor.of(flat, rows.length, width));
  }
}
