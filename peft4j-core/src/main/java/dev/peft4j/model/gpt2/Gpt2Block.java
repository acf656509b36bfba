package dev.peft4j.model.gpt2;

import dev.peft4j.nn.Attention;
import dev.peft4j.nn.Conv1D;
import dev.peft4j.nn.KvCache;
import dev.peft4j.nn.KvSite;
import dev.peft4j.nn.LayerNorm;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.SublayerSite;
import dev.peft4j.nn.SublayerSites;
import dev.peft4j.tensor.Tensor;
import java.util.List;

/**
 * One pre-LayerNorm block {@code h.N}: {@code h = x + attn(ln_1(x)); out = h + mlp(ln_2(h))}, with
 * both sublayer outputs as hook sites ({@code h = x + attentionSite(n, attn(n))}, {@code n = ln_1(x)}).
 */
final class Gpt2Block extends Module implements SublayerSites {
  private final LayerNorm ln1;
  final SelfAttention attn;
  private final LayerNorm ln2;
  private final Mlp mlp;
  private final SublayerSite attentionSite;
  private final SublayerSite ffnSite;

  Gpt2Block(Gpt2Config c, int layer) {
    ln1 = child("ln_1", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
    attn = child("attn", new SelfAttention(c, layer));
    ln2 = child("ln_2", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
    mlp = child("mlp", new Mlp(c));
    attentionSite = SublayerSite.attention(this, attn.cProj, c.numHeads());
    ffnSite = SublayerSite.ffn(this, mlp.cProj);
  }

  Tensor forward(Tensor x, KvCache cache, Tensor mask) {
    Tensor n1 = ln1.forward(x);
    Tensor h = x.add(attentionSite.apply(n1, attn.forward(n1, cache, mask)));
    Tensor n2 = ln2.forward(h);
    return h.add(ffnSite.apply(n2, mlp.forward(n2)));
  }

  @Override
  public List<SublayerSite> sublayerSites() {
    return List.of(attentionSite, ffnSite);
  }

  /** {@code attn}: the fused q/k/v projection {@code c_attn} and output projection {@code c_proj}. */
  static final class SelfAttention extends Module implements KvSite.Owner {
    private final Conv1D cAttn;
    private final Conv1D cProj;
    private final Attention attention;
    private final long hidden;
    private final double scoreScale; // 1 / ((sqrt(d) if scale_attn_weights) * (layer+1 if by inverse layer idx))

    SelfAttention(Gpt2Config c, int layer) {
      hidden = c.hiddenSize();
      cAttn = child("c_attn", new Conv1D(hidden, 3 * hidden));
      cProj = child("c_proj", new Conv1D(hidden, hidden));
      attention = new Attention(c.numHeads(), c.numHeads(), c.headDim(), layer, hidden, true, h -> {
        Tensor qkv = cAttn.forwardWithoutDeltas(h);
        return new Tensor[] {qkv.narrow(-1, hidden, hidden), qkv.narrow(-1, 2 * hidden, hidden)};
      });
      double divisor = (c.scaleAttnWeights() ? Math.sqrt(c.headDim()) : 1.0)
          * (c.scaleAttnByInverseLayerIdx() ? layer + 1 : 1);
      scoreScale = 1.0 / divisor;
    }

    @Override
    public KvSite kvSite() {
      return attention.kvSite();
    }

    Tensor forward(Tensor x, KvCache cache, Tensor mask) {
      Tensor qkv = cAttn.forward(x); // [B, T, 3*hidden] = q | k | v
      Tensor q = qkv.narrow(-1, 0, hidden);
      Tensor k = qkv.narrow(-1, hidden, hidden);
      Tensor v = qkv.narrow(-1, 2 * hidden, hidden);
      return cProj.forward(attention.forward(q, k, v, null, cache, mask, scoreScale));
    }
  }

  /** {@code mlp}: {@code c_proj(act(c_fc(x)))}. */
  static final class Mlp extends Module {
    private final Conv1D cFc;
    private final Conv1D cProj;
    private final dev.peft4j.nn.Activation activation;

    Mlp(Gpt2Config c) {
      cFc = child("c_fc", new Conv1D(c.hiddenSize(), c.innerSize()));
      cProj = child("c_proj", new Conv1D(c.innerSize(), c.hiddenSize()));
      activation = c.activation();
    }

    Tensor forward(Tensor x) {
      return cProj.forward(activation.apply(cFc.forward(x)));
    }
  }
}
