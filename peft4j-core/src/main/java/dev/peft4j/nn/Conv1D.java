package dev.peft4j.nn;

import dev.peft4j.tensor.Tensor;

/**
 * GPT-2's "Conv1D": a linear layer whose {@code weight} is stored transposed, [in, out], so
 * {@code y = x W + b} (Hugging Face {@code transformers.pytorch_utils.Conv1D}).
 */
public final class Conv1D extends Projection {
  private final Parameter weight;
  private final Parameter bias;

  public Conv1D(long inFeatures, long outFeatures) {
    super(inFeatures, outFeatures);
    this.weight = parameter("weight", inFeatures, outFeatures);
    this.bias = parameter("bias", outFeatures);
  }

  @Override
  public Parameter weight() {
    return weight;
  }

  @Override
  public Parameter bias() {
    return bias;
  }

  @Override
  public boolean weightTransposed() {
    return true;
  }

  @Override
  protected Tensor baseForward(Tensor x) {
    return x.matmul(weight.value()).add(bias.value());
  }
}
