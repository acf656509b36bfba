package dev.peft4j.model.llama;

import dev.peft4j.nn.Attention;
import dev.peft4j.nn.KvCache;
import dev.peft4j.nn.KvSite;
import dev.peft4j.nn.Linear;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.RotaryEmbedding;
import dev.peft4j.tensor.Tensor;

/** {@code self_attn}: q/k/v/o projections around grouped-query attention with rotary positions. */
final class LlamaAttention extends Module implements KvSite.Owner {
  private final Linear qProj;
  private final Linear kProj;
  private final Linear vProj;
  private final Linear oProj;
  private final Attention attention;

  LlamaAttention(LlamaConfig c, int layer) {
    long qDim = (long) c.numHeads() * c.headDim();
    long kvDim = (long) c.numKvHeads() * c.headDim();
    qProj = child("q_proj", new Linear(c.hiddenSize(), qDim, c.qkvBias()));
    kProj = child("k_proj", new Linear(c.hiddenSize(), kvDim, c.qkvBias()));
    vProj = child("v_proj", new Linear(c.hiddenSize(), kvDim, c.qkvBias()));
    oProj = child("o_proj", new Linear(qDim, c.hiddenSize(), c.outputBias()));
    attention = new Attention(c.numHeads(), c.numKvHeads(), c.headDim(), layer, c.hiddenSize(), true,
        h -> new Tensor[] {kProj.forwardWithoutDeltas(h), vProj.forwardWithoutDeltas(h)});
  }

  @Override
  public KvSite kvSite() {
    return attention.kvSite();
  }

  Tensor forward(Tensor x, RotaryEmbedding.Rotation rotation, KvCache cache, Tensor mask) {
    Tensor attended = attention.forward(qProj.forward(x), kProj.forward(x), vProj.forward(x), rotation, cache, mask);
    return oProj.forward(attended);
  }

  /** {@code o_proj}, which maps the concatenated heads to the attention output. */
  Linear outputProjection() {
    return oProj;
  }
}
