package dev.peft4j.peft.bottleneck;

import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.Tensor;

/**
 * H independent linear maps, one per attention head: input slice i [in] → output slice i [out],
 * i.e. a block-diagonal Linear stored as {@code weight} [H, out, in] and {@code bias} [H, out].
 */
final class HeadwiseLinear extends Module {
  private final int heads;
  private final long in;
  private final long out;
  private final Parameter weight; // [H, out, in]
  private final Parameter bias;   // [H, out]

  HeadwiseLinear(int heads, long in, long out) {
    this.heads = heads;
    this.in = in;
    this.out = out;
    this.weight = parameter("weight", heads, out, in);
    this.bias = parameter("bias", heads, out);
  }

  Parameter weight() {
    return weight;
  }

  Parameter bias() {
    return bias;
  }

  /** @param x [..., H·in] @return [..., H·out], slice i = x_i W_iᵀ + b_i */
  Tensor forward(Tensor x) {
    long[] shape = x.shape();
    Tensor xs = x.reshape(-1, heads, 1, in);                            // [N, H, 1, in]
    Tensor y = xs.matmul(weight.value().transpose(1, 2)).squeeze(2);    // [N, H, out]
    shape[shape.length - 1] = heads * out;
    return y.add(bias.value()).reshape(shape);                           // [..., H·out]
  }
}
