package dev.peft4j.model.llama;

import dev.peft4j.nn.Attention;
import dev.peft4j.nn.KvCache;
import dev.peft4j.nn.KvSite;
import dev.peft4j.nn.Linear;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.RmsNorm;
import dev.peft4j.nn.RotaryEmbedding;
import dev.peft4j.tensor.Tensor;
import java.util.Arrays;

/**
 * {@code self_attn}: q/k/v/o projections around grouped-query attention with rotary positions;
 * with Qwen3's and Gemma 3's {@code q_norm}/{@code k_norm}, an RMSNorm over each head of q and k
 * first; Gemma 3 scales the scores by {@code query_pre_attn_scalar}^-1/2 instead of D^-1/2.
 */
final class LlamaAttention extends Module implements KvSite.Owner {
  private final Linear qProj;
  private final Linear kProj;
  private final Linear vProj;
  private final Linear oProj;
  private final RmsNorm qNorm; // null without per-head q/k norms
  private final RmsNorm kNorm;
  private final int headDim;
  private final double scale;
  private final Attention attention;

  LlamaAttention(LlamaConfig c, int layer) {
    long qDim = (long) c.numHeads() * c.headDim();
    long kvDim = (long) c.numKvHeads() * c.headDim();
    qProj = child("q_proj", new Linear(c.hiddenSize(), qDim, c.qkvBias()));
    kProj = child("k_proj", new Linear(c.hiddenSize(), kvDim, c.qkvBias()));
    vProj = child("v_proj", new Linear(c.hiddenSize(), kvDim, c.qkvBias()));
    oProj = child("o_proj", new Linear(qDim, c.hiddenSize(), c.outputBias()));
    qNorm = c.qkNorm() ? child("q_norm", new RmsNorm(c.headDim(), c.rmsNormEps(), c.normOffset())) : null;
    kNorm = c.qkNorm() ? child("k_norm", new RmsNorm(c.headDim(), c.rmsNormEps(), c.normOffset())) : null;
    headDim = c.headDim();
    scale = c.gemma3() != null ? c.gemma3().attentionScale() : 1 / Math.sqrt(c.headDim());
    attention = new Attention(c.numHeads(), c.numKvHeads(), c.headDim(), layer, c.hiddenSize(), true,
        h -> new Tensor[] {perHead(kNorm, kProj.forwardWithoutDeltas(h)), vProj.forwardWithoutDeltas(h)});
  }

  @Override
  public KvSite kvSite() {
    return attention.kvSite();
  }

  Tensor forward(Tensor x, RotaryEmbedding.Rotation rotation, KvCache cache, Tensor mask) {
    Tensor attended = attention.forward(perHead(qNorm, qProj.forward(x)), perHead(kNorm, kProj.forward(x)),
        vProj.forward(x), rotation, cache, mask, scale);
    return oProj.forward(attended);
  }

  /** {@code projected} [..., heads·D] with {@code norm} applied to each head's D values; unchanged without a norm. */
  private Tensor perHead(RmsNorm norm, Tensor projected) {
    if (norm == null) {
      return projected;
    }
    long[] shape = projected.shape();
    long[] heads = Arrays.copyOf(shape, shape.length + 1);
    heads[shape.length - 1] = shape[shape.length - 1] / headDim;
    heads[shape.length] = headDim;
    return norm.forward(projected.view(heads)).view(shape);
  }

  /** {@code o_proj}, which maps the concatenated heads to the attention output. */
  Linear outputProjection() {
    return oProj;
  }
}
