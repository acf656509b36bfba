package dev.peft4j.nn;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Tensor;

/** Boolean attention masks for {@link dev.peft4j.tensor.Functional#scaledDotProductAttention}. */
public final class AttentionMask {
  private AttentionMask() {}

  /**
   * Which keys each query may attend to: [B or 1, 1, Tq, Tk], true where allowed, or null if
   * everything is allowed.
   *
   * @param keyPadding [B, Tk] with 1 for real tokens and 0 for padding, or null if none
   * @param queries Tq, the queries are the last Tq of the Tk positions
   * @param keys Tk, cached plus new positions
   * @param causal whether a query may only see keys at or before its own position
   */
  public static Tensor of(Tensor keyPadding, long queries, long keys, boolean causal) {
    if (keyPadding == null && !causal) {
      return null;
    }
    Tensor keyIdx = Tensor.arange(keys).view(1, keys);                         // [1, Tk]
    Tensor queryIdx = Tensor.arange(queries).add(keys - queries).view(queries, 1); // [Tq, 1]
    Tensor allowed = causal ? keyIdx.le(queryIdx) : Tensor.ones(DType.BOOL, queries, keys);
    if (keyPadding == null) {
      return allowed.view(1, 1, queries, keys);
    }
    Tensor real = keyPadding.ne(0).view(keyPadding.size(0), 1, 1, keys);
    // A query that is itself padding may find no allowed key; letting every query see its own
    // position keeps softmax finite. Real queries already see themselves, so they are unchanged.
    Tensor self = keyIdx.eq(queryIdx).view(1, 1, queries, keys);
    return allowed.view(1, 1, queries, keys).logicalAnd(real).logicalOr(self);
  }

  /**
   * {@code mask} (from {@link #of}; null meaning causal over every key) restricted to a sliding
   * window: a query sees only the keys fewer than {@code window} positions before it, by index in
   * the cache (transformers' {@code sliding_window_overlay}: {@code kv_idx > q_idx - window}).
   * Returns {@code mask} itself when the window covers every key.
   *
   * @return [B or 1, 1, Tq, Tk], or {@code mask}
   */
  public static Tensor slidingWindow(Tensor mask, long queries, long keys, int window) {
    if (keys <= window) {
      return mask;
    }
    Tensor keyIdx = Tensor.arange(keys).view(1, keys);
    Tensor queryIdx = Tensor.arange(queries).add(keys - queries).view(queries, 1);
    Tensor near = queryIdx.le(keyIdx.add(window - 1L)).view(1, 1, queries, keys); // q − k < window
    return (mask == null ? keyIdx.le(queryIdx).view(1, 1, queries, keys) : mask).logicalAnd(near);
  }

  /**
   * Position ids [B, T] for the last {@code T} of the {@code keyPadding} positions: the count of
   * real tokens before each position, so a left-padded row gets the same positions as alone
   * (Hugging Face: {@code attention_mask.cumsum(-1) - 1}, padding clamped to 0).
   */
  public static Tensor positions(Tensor keyPadding, long pastLength, long batch, long length) {
    if (keyPadding == null) {
      return Tensor.arange(length).add(pastLength).view(1, length).expand(batch, length);
    }
    Tensor pos = keyPadding.ne(0).to(DType.I64).cumsum(1).add(-1).clampMin(0);
    return pos.narrow(1, pastLength, length);
  }
}
