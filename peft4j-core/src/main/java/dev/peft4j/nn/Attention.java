package dev.peft4j.nn;

import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * Multi-head attention after the projections: split heads, rotate (optionally), extend the
 * cache, attend, merge heads. The architectures differ only in how they project q, k and v.
 * Its {@link KvSite} is the attention K/V hook site: prefix keys/values join the layer's own in
 * the softmax (prepended on the first pass of a sequence and then held by the cache), and
 * separately softmaxed attentions are added to the output before the heads are merged.
 */
public final class Attention {
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final int layer;
  private final boolean causal;
  private final KvSite site;

  /**
   * @param heads query heads
   * @param kvHeads key/value heads; {@code heads} must be a multiple (grouped-query attention)
   * @param layer this layer's index in the {@link KvCache}
   * @param hiddenSize width of the hidden states the layer projects
   * @param causal whether queries see only keys at or before their own position (a decoder); a
   *     causal attention given no mask attends causally over as many keys as queries (see
   *     {@link #forward})
   * @param projection the layer's key/value projection, offered to K/V deltas
   */
  public Attention(int heads, int kvHeads, int headDim, int layer, long hiddenSize, boolean causal,
      KvSite.Projection projection) {
    if (heads % kvHeads != 0) {
      throw new IllegalArgumentException(
          "num_attention_heads (" + heads + ") must be a multiple of num_key_value_heads (" + kvHeads + ")");
    }
    this.heads = heads;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.layer = layer;
    this.causal = causal;
    this.site = new KvSite(layer, heads, kvHeads, headDim, hiddenSize, projection);
  }

  /** This layer's attention K/V hook site. */
  public KvSite kvSite() {
    return site;
  }

  /**
   * @param q [B, T, heads*D]
   * @param k [B, T, kvHeads*D]
   * @param v [B, T, kvHeads*D]
   * @param rotation rotary embedding of the positions, applied to q and k; or null
   * @param cache cache to read and extend, or null
   * @param mask boolean mask from {@link AttentionMask#of} (or {@link VirtualInputs#attentionMask})
   *     covering prefix, cached and new keys; or null: every key for a bidirectional attention or
   *     a single query (a decoding step), and for a causal one the lower triangle of a square
   *     pass (libtorch's {@code is_causal}, which lets the fused kernel skip the blocks above the
   *     diagonal)
   * @return [B, T, heads*D]
   * @throws IllegalStateException if a causal attention without a mask has several queries and
   *     more keys than queries
   */
  public Tensor forward(Tensor q, Tensor k, Tensor v, RotaryEmbedding.Rotation rotation, KvCache cache, Tensor mask) {
    return forward(q, k, v, rotation, cache, mask, 1.0 / Math.sqrt(headDim));
  }

  /** As above with an explicit softmax scale instead of {@code 1/sqrt(D)}. */
  public Tensor forward(Tensor q, Tensor k, Tensor v, RotaryEmbedding.Rotation rotation, KvCache cache, Tensor mask,
      double scale) {
    long b = q.size(0);
    long t = q.size(1);
    Tensor qh = q.view(b, t, heads, headDim).transpose(1, 2);   // [B, H, T, D]
    Tensor kh = k.view(b, t, kvHeads, headDim).transpose(1, 2); // [B, Hkv, T, D]
    Tensor vh = v.view(b, t, kvHeads, headDim).transpose(1, 2);
    if (rotation != null) {
      qh = rotation.apply(qh);
      kh = rotation.apply(kh);
    }
    if (cache == null || cache.isEmpty(layer)) {
      Tensor[] prefix = site.prefix(b, kh.dtype()); // [B, Hkv, P, D] each, or null
      if (prefix != null) {
        kh = Tensor.cat(2, prefix[0], kh);
        vh = Tensor.cat(2, prefix[1], vh);
      }
    }
    if (cache != null) {
      Tensor[] kv = cache.append(layer, kh, vh);
      kh = kv[0];
      vh = kv[1];
    }
    // a single query is the last position and sees every key: causal without a mask
    boolean square = causal && mask == null && t > 1;
    if (square && kh.size(2) != t) {
      throw new IllegalStateException("a causal attention without a mask needs as many keys as queries, got "
          + kh.size(2) + " keys for " + t + " queries");
    }
    Tensor out = Functional.scaledDotProductAttention(qh, kh, vh, mask, square, scale); // [B, H, T, D]
    out = site.addSeparate(out, qh, scale);
    return out.transpose(1, 2).reshape(b, t, (long) heads * headDim);
  }
}
