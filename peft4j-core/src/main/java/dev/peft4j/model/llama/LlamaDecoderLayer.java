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
 * One pre-norm block: {@code h = x + attn(norm(x)); out = h + mlp(norm(h))}; Gemma 3 normalises
 * each sublayer's output again before adding it ({@code h = x + norm'(attn(norm(x)))}, likewise the
 * MLP). Both sublayer outputs — what is added to the residual — are hook sites:
 * {@code h = x + attentionSite(n, attn(n))} with {@code n = norm(x)}.
 */
final class LlamaDecoderLayer extends Module implements SublayerSites {
  private final RmsNorm inputLayernorm;
  final LlamaAttention selfAttn;
  private final RmsNorm attentionOutputNorm; // Gemma 3's post_attention_layernorm; null otherwise
  private final RmsNorm mlpInputNorm;
  private final RmsNorm mlpOutputNorm; // Gemma 3's post_feedforward_layernorm; null otherwise
  private final LlamaMlp mlp;
  private final SublayerSite attentionSite;
  private final SublayerSite ffnSite;

  LlamaDecoderLayer(LlamaConfig c, int layer) {
    selfAttn = child("self_attn", new LlamaAttention(c, layer));
    mlp = child("mlp", new LlamaMlp(c));
    inputLayernorm = child("input_layernorm", norm(c));
    boolean sandwich = c.gemma3() != null;
    // LLaMA's post_attention_layernorm is the MLP's input norm; Gemma's normalises the attention output
    attentionOutputNorm = sandwich ? child("post_attention_layernorm", norm(c)) : null;
    mlpInputNorm = child(sandwich ? "pre_feedforward_layernorm" : "post_attention_layernorm", norm(c));
    mlpOutputNorm = sandwich ? child("post_feedforward_layernorm", norm(c)) : null;
    attentionSite = SublayerSite.attention(this, selfAttn.outputProjection(), c.numHeads());
    ffnSite = SublayerSite.ffn(this, mlp.outputProjection());
  }

  private static RmsNorm norm(LlamaConfig c) {
    return new RmsNorm(c.hiddenSize(), c.rmsNormEps(), c.normOffset());
  }

  Tensor forward(Tensor x, RotaryEmbedding.Rotation rotation, KvCache cache, Tensor mask) {
    Tensor n1 = inputLayernorm.forward(x);
    Tensor h = x.add(attentionSite.apply(n1, normed(attentionOutputNorm, selfAttn.forward(n1, rotation, cache, mask))));
    Tensor n2 = mlpInputNorm.forward(h);
    return h.add(ffnSite.apply(n2, normed(mlpOutputNorm, mlp.forward(n2))));
  }

  private static Tensor normed(RmsNorm norm, Tensor out) {
    return norm == null ? out : norm.forward(out);
  }

  @Override
  public List<SublayerSite> sublayerSites() {
    return List.of(attentionSite, ffnSite);
  }
}
