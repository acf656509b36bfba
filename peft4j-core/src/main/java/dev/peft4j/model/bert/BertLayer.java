package dev.peft4j.model.bert;

import dev.peft4j.nn.Attention;
import dev.peft4j.nn.KvSite;
import dev.peft4j.nn.LayerNorm;
import dev.peft4j.nn.Linear;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.SublayerSite;
import dev.peft4j.nn.SublayerSites;
import dev.peft4j.tensor.Tensor;
import java.util.List;

/**
 * One post-LayerNorm encoder layer {@code encoder.layer.N} (Vaswani et al. 2017):
 * {@code h = LN(x + Wo·attn(x)); out = LN(h + W2·act(W1·h))}. Both sublayer outputs are hook
 * sites, after the output projection and before residual + LayerNorm:
 * {@code h = LN(x + attentionSite(x, Wo·attn(x)))}.
 */
final class BertLayer extends Module implements SublayerSites {
  final AttentionBlock attention;
  private final Linear intermediate;
  private final Output output;
  private final BertConfig config;
  private final SublayerSite attentionSite;
  private final SublayerSite ffnSite;

  BertLayer(BertConfig c, int layer) {
    config = c;
    attention = child("attention", new AttentionBlock(c, layer));
    intermediate = child("intermediate", new Intermediate(c)).dense;
    output = child("output", new Output(c, c.intermediateSize()));
    attentionSite = SublayerSite.attention(this, attention.output.dense, c.numHeads());
    ffnSite = SublayerSite.ffn(this, output.dense);
  }

  Tensor forward(Tensor x, Tensor mask) {
    Tensor h = attention.forward(x, mask, attentionSite);
    return output.forward(config.activation().apply(intermediate.forward(h)), h, ffnSite);
  }

  @Override
  public List<SublayerSite> sublayerSites() {
    return List.of(attentionSite, ffnSite);
  }

  /** {@code attention}: {@code self} (query/key/value) and {@code output} (dense + LayerNorm). */
  static final class AttentionBlock extends Module {
    final SelfAttention self;
    private final Output output;

    AttentionBlock(BertConfig c, int layer) {
      self = child("self", new SelfAttention(c, layer));
      output = child("output", new Output(c, c.hiddenSize()));
    }

    Tensor forward(Tensor x, Tensor mask, SublayerSite site) {
      return output.forward(self.forward(x, mask), x, site);
    }
  }

  /** {@code attention.self}: bidirectional multi-head attention. */
  static final class SelfAttention extends Module implements KvSite.Owner {
    private final Linear query;
    private final Linear key;
    private final Linear value;
    private final Attention attention;

    SelfAttention(BertConfig c, int layer) {
      query = child("query", new Linear(c.hiddenSize(), c.hiddenSize(), true));
      key = child("key", new Linear(c.hiddenSize(), c.hiddenSize(), true));
      value = child("value", new Linear(c.hiddenSize(), c.hiddenSize(), true));
      attention = new Attention(c.numHeads(), c.numHeads(), c.headDim(), layer, c.hiddenSize(), false,
          h -> new Tensor[] {key.forwardWithoutDeltas(h), value.forwardWithoutDeltas(h)});
    }

    @Override
    public KvSite kvSite() {
      return attention.kvSite();
    }

    Tensor forward(Tensor x, Tensor mask) {
      return attention.forward(query.forward(x), key.forward(x), value.forward(x), null, null, mask);
    }
  }

  /** {@code intermediate}: the first FFN projection. */
  static final class Intermediate extends Module {
    final Linear dense;

    Intermediate(BertConfig c) {
      dense = child("dense", new Linear(c.hiddenSize(), c.intermediateSize(), true));
    }
  }

  /**
   * {@code output} / {@code attention.output}: {@code LayerNorm(residual + site(residual, dense(x)))};
   * the residual is the sublayer's input.
   */
  static final class Output extends Module {
    private final Linear dense;
    private final LayerNorm layerNorm;

    Output(BertConfig c, long inFeatures) {
      dense = child("dense", new Linear(inFeatures, c.hiddenSize(), true));
      layerNorm = child("LayerNorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
    }

    Tensor forward(Tensor x, Tensor residual, SublayerSite site) {
      return layerNorm.forward(residual.add(site.apply(residual, dense.forward(x))));
    }
  }
}
