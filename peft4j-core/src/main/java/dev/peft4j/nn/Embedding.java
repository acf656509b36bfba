package dev.peft4j.nn;

import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/** A lookup table {@code weight} [num, dim] indexed by int64 ids. */
public final class Embedding extends Module {
  private final long numEmbeddings;
  private final Parameter weight;

  public Embedding(long numEmbeddings, long dim) {
    this.numEmbeddings = numEmbeddings;
    this.weight = parameter("weight", numEmbeddings, dim);
  }

  public Parameter weight() {
    return weight;
  }

  public long numEmbeddings() {
    return numEmbeddings;
  }

  /** @param ids int64 [...] @return [..., dim] */
  public Tensor forward(Tensor ids) {
    return Functional.embedding(weight.value(), ids);
  }
}
