package dev.peft4j.testing.reference;

import java.util.Map;

/**
 * BERT encoder mirroring transformers' BertModel / BertForSequenceClassification
 * (modeling_bert.py), eval mode, one unpadded sequence, absolute positions 0..T-1:
 * LayerNorm(word + position + token_type) -> N x post-LN layers -> pooler tanh(dense(h[0]))
 * -> classifier.
 *
 * <p>Config keys honoured: vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
 * intermediate_size, hidden_act, max_position_embeddings, type_vocab_size, layer_norm_eps,
 * num_labels / id2label. Weight names may carry the {@code bert.} prefix
 * (BertForSequenceClassification) or not (BertModel).
 */
public final class ReferenceBert implements ReferenceModel {
  private final Map<String, float[]> weights;
  private final String prefix;
  private final int vocab, hidden, layers, heads, intermediate, maxPositions, typeVocab, numLabels;
  private final double eps;
  private final String act;
  private SublayerHook hook = SublayerHook.NONE;

  public ReferenceBert(Map<String, ?> config, Map<String, float[]> weights) {
    RefConfig c = new RefConfig(config);
    this.weights = weights;
    prefix = weights.containsKey("bert.embeddings.word_embeddings.weight") ? "bert." : "";
    vocab = c.getInt("vocab_size", 30522);
    hidden = c.getInt("hidden_size", 768);
    layers = c.getInt("num_hidden_layers", 12);
    heads = c.getInt("num_attention_heads", 12);
    intermediate = c.getInt("intermediate_size", 3072);
    maxPositions = c.getInt("max_position_embeddings", 512);
    typeVocab = c.getInt("type_vocab_size", 2);
    eps = c.getDouble("layer_norm_eps", 1e-12);
    act = c.getString("hidden_act", "gelu");
    Map<String, Object> id2label = c.getMap("id2label");
    numLabels = c.getInt("num_labels", id2label != null ? id2label.size() : 2);
  }

  /** Runs {@code hook} at the sublayer sites from now on (tests of adapters). */
  public ReferenceBert withHook(SublayerHook hook) {
    this.hook = hook;
    return this;
  }

  /** Not a causal LM. */
  @Override
  public float[][] logits(int[] ids) {
    throw new UnsupportedOperationException("BERT has no LM logits; use lastHidden/pooled/classifierLogits");
  }

  /**
   * BertModel last_hidden_state [T][hidden]. {@code tokenTypeIds} may be null (all zeros, like
   * the token_type_ids buffer HF falls back to).
   */
  public float[][] lastHidden(int[] ids, int[] tokenTypeIds) {
    int n = ids.length;
    if (n > maxPositions) {
      throw new IllegalArgumentException("sequence of " + n + " exceeds max_position_embeddings");
    }
    // BertEmbeddings: LayerNorm(word + token_type + position)
    String e = prefix + "embeddings.";
    float[] word = w(e + "word_embeddings.weight", (long) vocab * hidden);
    float[] pos = w(e + "position_embeddings.weight", (long) maxPositions * hidden);
    float[] type = w(e + "token_type_embeddings.weight", (long) typeVocab * hidden);
    float[][] h = new float[n][];
    for (int t = 0; t < n; t++) {
      int tt = tokenTypeIds == null ? 0 : tokenTypeIds[t];
      float[] x = RefMath.add(RefMath.embedding(word, hidden, ids[t]), RefMath.embedding(type, hidden, tt));
      h[t] = ln(RefMath.add(x, RefMath.embedding(pos, hidden, t)), e + "LayerNorm");
    }
    int headDim = hidden / heads;
    for (int l = 0; l < layers; l++) {
      String p = prefix + "encoder.layer." + l + ".";
      // BertSelfAttention (bidirectional) + BertSelfOutput: LayerNorm(dense(ctx) + x)
      float[][] q = new float[n][];
      float[][] k = new float[n][];
      float[][] v = new float[n][];
      for (int t = 0; t < n; t++) {
        q[t] = dense(h[t], p + "attention.self.query", hidden);
        k[t] = dense(h[t], p + "attention.self.key", hidden);
        v[t] = dense(h[t], p + "attention.self.value", hidden);
      }
      float[][] ctx = RefMath.attention(q, k, v, heads, heads, headDim, 1.0 / Math.sqrt(headDim), RefMath.FULL);
      for (int t = 0; t < n; t++) {
        float[] c = hook.apply(l, "attention.context", h[t], ctx[t]);
        float[] a = ln(RefMath.add(hook.apply(l, "attention", h[t], dense(c, p + "attention.output.dense", hidden)), h[t]),
            p + "attention.output.LayerNorm");
        // BertIntermediate: act(dense(a)); BertOutput: LayerNorm(dense(i) + a)
        float[] i = dense(a, p + "intermediate.dense", intermediate);
        for (int j = 0; j < intermediate; j++) {
          i[j] = (float) RefMath.activation(act, i[j]);
        }
        h[t] = ln(RefMath.add(hook.apply(l, "ffn", a, dense(i, p + "output.dense", hidden)), a), p + "output.LayerNorm");
      }
    }
    return h;
  }

  /** BertPooler: tanh(dense(last_hidden_state[0])). */
  public float[] pooled(int[] ids, int[] tokenTypeIds) {
    float[] y = dense(lastHidden(ids, tokenTypeIds)[0], prefix + "pooler.dense", hidden);
    for (int i = 0; i < y.length; i++) {
      y[i] = (float) Math.tanh(y[i]);
    }
    return y;
  }

  /** BertForSequenceClassification logits [num_labels]: classifier(pooled) (dropout is identity). */
  public float[] classifierLogits(int[] ids, int[] tokenTypeIds) {
    return dense(pooled(ids, tokenTypeIds), "classifier", numLabels);
  }

  private float[] ln(float[] x, String name) {
    return RefMath.layerNorm(x, w(name + ".weight", hidden), w(name + ".bias", hidden), eps);
  }

  private float[] dense(float[] x, String name, int out) {
    return RefMath.linear(x, w(name + ".weight", (long) out * x.length), w(name + ".bias", out), out);
  }

  private float[] w(String name, long length) {
    return RefMath.require(weights, name, length);
  }
}
