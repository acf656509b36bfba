package dev.peft4j.nn;

import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * A lookup table {@code weight} [num, dim] indexed by int64 ids: the linear map of one-hot ids, so
 * a {@link Projection} with {@code in = num}, {@code out = dim} and the weight stored [in, out],
 * whose output takes deltas as any projection's does (LoRA on an embedding).
 */
public final class Embedding extends Projection {
  private final Parameter weight;

  public Embedding(long numEmbeddings, long dim) {
    super(numEmbeddings, dim);
    this.weight = parameter("weight", numEmbeddings, dim);
  }

  @Override
  public Parameter weight() {
    return weight;
  }

  /** An embedding has no bias: null. */
  @Override
  public Parameter bias() {
    return null;
  }

  @Override
  public boolean weightTransposed() {
    return true;
  }

  @Override
  public boolean takesIds() {
    return true;
  }

  /** The rows of the table. */
  public long numEmbeddings() {
    return inFeatures();
  }

  /** @param m [k, num] @return [..., k]: the columns of {@code m} at {@code ids} */
  @Override
  public Tensor mapInput(Tensor ids, Tensor m) {
    return Functional.embedding(m.transpose(0, 1), ids);
  }

  /**
   * The table as a tied output head: {@code hidden Wᵀ}, with the change of every active
   * {@link HeadDelta} attached to the table.
   *
   * @param hidden [..., dim]
   * @return [..., num]
   */
  public Tensor asOutputHead(Tensor hidden) {
    Tensor logits = Functional.linear(hidden, weight.value(), null);
    for (OutputDelta d : deltas()) {
      if (d.active() && d instanceof HeadDelta head) {
        logits = head.addToHead(logits, hidden);
      }
    }
    return logits;
  }

  /** @param ids int64 [...] @return [..., dim] */
  @Override
  protected Tensor baseForward(Tensor ids) {
    return Functional.embedding(weight.value(), ids);
  }
}
