package dev.peft4j.bench;

import dev.peft4j.data.Batch;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.train.BatchSource;
import java.util.Random;

/**
 * Full-length rows of uniformly random token ids, with an all-ones attention mask (as the collator
 * makes for unpadded rows) and the ids as labels (the objective shifts them). Deterministic per
 * {@code (epoch, index)}.
 */
final class RandomBatches implements BatchSource<Batch> {
  private final int vocab;
  private final int batch;
  private final int seq;
  private final long seed;

  RandomBatches(int vocab, int batch, int seq, long seed) {
    this.vocab = vocab;
    this.batch = batch;
    this.seq = seq;
    this.seed = seed;
  }

  @Override
  public int batchesPerEpoch() {
    return 1000;
  }

  @Override
  public Batch batch(int epoch, int index) {
    Random random = new Random(seed * 31 + (long) epoch * 1000 + index);
    Tensor ids = RandomModels.tokenIds(random, batch, seq, vocab);
    Tensor mask = Tensor.ones(DType.I64, batch, seq);
    return new Batch(ids, mask, ids.copy(), batch * seq);
  }
}
