package dev.peft4j.model.llama;

import dev.peft4j.nn.KvCache;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.RmsNorm;
import dev.peft4j.nn.RotaryEmbedding;
import dev.peft4j.nn.SublayerSite;
import dev.peft4j.nn.SublayerSites;
import dev.peft4j.tensor.Tensor;
import java.util.List;

/**
 * One pre-norm block: {@code h = x + attn(norm(x)); out = h + mlp(norm(h))}. Both sublayer
 * outputs are hook sites: {@code h = x + attentionSite(n, attn(n))} with {@code n = norm(x)}.
 */
final class LlamaDecoderLayer extends Module implements SublayerSites {
  private final RmsNorm inputLayernorm;
  final LlamaAttention selfAttn;
  private final RmsNorm postAttentionLayernorm;
  private final LlamaMlp mlp;
  private final SublayerSite attentionSite;
  private final SublayerSite ffnSite;

  LlamaDecoderLayer(LlamaConfig c, int layer) {
    selfAttn = child("self_attn", new LlamaAttention(c, layer));
    mlp = child("mlp", new LlamaMlp(c));
    inputLayernorm = child("input_layernorm", new RmsNorm(c.hiddenSize(), c.rmsNormEps()));
    postAttentionLayernorm = child("post_attention_layernorm", new RmsNorm(c.hiddenSize(), c.rmsNormEps()));
    attentionSite = SublayerSite.attention(this, selfAttn.outputProjection(), c.numHeads());
    ffnSite = SublayerSite.ffn(this, mlp.outputProjection());
  }

  Tensor forward(Tensor x, RotaryEmbedding.Rotation rotation, KvCache cache, Tensor mask) {
    Tensor n1 = inputLayernorm.forward(x);
    Tensor h = x.add(attentionSite.apply(n1, selfAttn.forward(n1, rotation, cache, mask)));
    Tensor n2 = postAttentionLayernorm.forward(h);
    return h.add(ffnSite.apply(n2, mlp.forward(n2)));
  }

  @Override
  public List<SublayerSite> sublayerSites() {
    return List.of(attentionSite, ffnSite);
  }
}
