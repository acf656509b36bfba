package dev.peft4j.nn;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Tensor;
import java.util.List;

/**
 * The bookkeeping of one forward pass with virtual positions in front of the tokens: prefix
 * keys/values from the layers' {@link KvSite}s (P positions, keys only) and virtual tokens from
 * the {@link InputEmbeddingSite} (V positions, run through the layers). The sequence the layers
 * see is {@code [P prefix | V virtual | T tokens]}; the caller sees only its T tokens.
 *
 * <ul>
 *   <li>Mask: the caller's attention mask [B, past + T] is extended in front with the virtual
 *       positions, 1 where a row uses them (Hugging Face PEFT: {@code cat(ones(B, P), mask)}).
 *   <li>Positions: counted over the extended mask, so tokens follow the virtual positions a row
 *       uses, as in PEFT, and a row that uses none is positioned as if run alone.
 *   <li>Cache: the first pass of a sequence (no cache, or an empty one) adds the virtual
 *       positions; the cache then holds them (the prefix as keys/values, the virtual tokens as
 *       processed positions) and records their row mask, so later decoding steps add nothing and
 *       the caller's mask stays [B, tokens so far].
 *   <li>Outputs: the V virtual token positions are dropped ({@link #strip}), so logits and hidden
 *       states have the caller's shape and labels need no shifting.
 * </ul>
 */
public final class VirtualInputs {
  private final Tensor embeddings; // [B, Tq, hidden]
  private final Tensor keyMask;    // int64 [B, Tk], or null when nothing is masked
  private final long batch;
  private final long queries;      // Tq: V (first pass only) + T
  private final long keys;         // Tk: everything attended to, cached included
  private final long stripped;     // V virtual tokens in the outputs of this pass
  private final long virtualLength;

  private VirtualInputs(Tensor embeddings, Tensor keyMask, long batch, long queries, long keys, long stripped,
      long virtualLength) {
    this.embeddings = embeddings;
    this.keyMask = keyMask;
    this.batch = batch;
    this.queries = queries;
    this.keys = keys;
    this.stripped = stripped;
    this.virtualLength = virtualLength;
  }

  /** Real (non-virtual) positions in {@code cache}: what the caller's mask must cover before the new tokens. */
  public static long realPast(KvCache cache) {
    return cache == null ? 0 : cache.realLength();
  }

  /**
   * @param site the input-embedding site, or null if the model has none
   * @param kvSites the K/V sites of every layer (may be empty)
   * @param ids int64 [B, T], already checked
   * @param tokenEmbeddings the word embeddings of {@code ids}, [B, T, hidden]
   * @param attentionMask the caller's mask [B, realPast + T], or null
   * @param cache the cache, or null
   * @param contextLength the longest sequence the model accepts, virtual positions included
   * @throws IllegalArgumentException if virtual positions plus tokens exceed {@code contextLength}
   */
  public static VirtualInputs prepare(InputEmbeddingSite site, List<KvSite> kvSites, Tensor ids,
      Tensor tokenEmbeddings, Tensor attentionMask, KvCache cache, long contextLength) {
    long b = ids.size(0);
    long t = ids.size(1);
    boolean fresh = cache == null || cache.length() == 0;
    Tensor embeddings = tokenEmbeddings;
    Tensor virtualMask;
    long virtualLength;
    long stripped = 0;
    long past;
    if (fresh) {
      KvSite.Prefix prefix = KvSite.commonPrefix(kvSites, b);
      long v = site == null ? 0 : site.virtualLength();
      if (site != null) {
        embeddings = site.substitute(ids, embeddings);
      }
      Tensor virtualRows = null;
      if (v > 0) {
        embeddings = Tensor.cat(1, site.virtualTokens(b, embeddings.dtype()), embeddings);
        virtualRows = site.virtualRows(b);
      }
      virtualLength = prefix.length() + v;
      virtualMask = prefix.rows() == null && virtualRows == null ? null
          : joinRows(b, prefix.length(), prefix.rows(), v, virtualRows);
      if (cache != null) {
        cache.setVirtual(virtualLength, virtualMask);
      }
      stripped = v;
      past = prefix.length();
    } else {
      virtualLength = cache.virtualLength();
      virtualMask = cache.virtualMask();
      past = cache.length();
    }
    long queries = stripped + t;
    long keys = past + queries;
    Tensor keyMask = null;
    if (attentionMask != null || virtualMask != null) {
      Tensor real = attentionMask != null ? attentionMask.to(DType.I64) : Tensor.ones(DType.I64, b, keys - virtualLength);
      keyMask = virtualLength == 0 ? real
          : Tensor.cat(1, virtualMask != null ? virtualMask.to(DType.I64) : Tensor.ones(DType.I64, b, virtualLength), real);
    }
    // the most positions one row attends to: masked positions (padding, virtual positions of other
    // rows' adapters in a mixed batch) take no position id
    long attended = keys <= contextLength || keyMask == null ? keys : (long) keyMask.sum(1, false).max().item();
    if (attended > contextLength) {
      throw new IllegalArgumentException("sequence of " + (attended - virtualLength) + " tokens after "
          + virtualLength + " virtual positions (prefix and virtual tokens) is " + attended
          + " positions, longer than the model's context length " + contextLength);
    }
    return new VirtualInputs(embeddings, keyMask, b, queries, keys, stripped, virtualLength);
  }

  private static Tensor joinRows(long b, long p, Tensor prefixRows, long v, Tensor virtualRows) {
    Tensor first = p == 0 ? null : prefixRows != null ? prefixRows : Tensor.ones(DType.BOOL, b, p);
    Tensor second = v == 0 ? null : virtualRows != null ? virtualRows : Tensor.ones(DType.BOOL, b, v);
    if (first == null) {
      return second;
    }
    return second == null ? first : Tensor.cat(1, first, second);
  }

  /** The input to the first layer: [virtual tokens | token embeddings], [B, Tq, hidden]. */
  public Tensor embeddings() {
    return embeddings;
  }

  /** Whether this sequence has any virtual position (this pass or cached). */
  public boolean hasVirtual() {
    return virtualLength > 0;
  }

  /** Query positions of this pass (virtual tokens included on the first pass). */
  public long queries() {
    return queries;
  }

  /** Key positions of this pass: prefix, cached and new. */
  public long keys() {
    return keys;
  }

  /** Padding of every key position, int64 [B, Tk], or null when nothing is masked. */
  public Tensor keyMask() {
    return keyMask;
  }

  /** Position ids [B, Tq]: real positions counted over the extended mask. */
  public Tensor positions() {
    return AttentionMask.positions(keyMask, keys - queries, batch, queries);
  }

  /**
   * The boolean attention mask [B or 1, 1, Tq, Tk] (see {@link AttentionMask#of}), or null when
   * nothing needs one: no key is masked, and either the pass is square (no cache, prefix or
   * virtual positions before its queries), where a causal {@link Attention} attends causally
   * without one, or it has a single query (a decoding step), which attends to every key.
   */
  public Tensor attentionMask(boolean causal) {
    if (keyMask == null && (queries == keys || queries == 1)) {
      return null;
    }
    return AttentionMask.of(keyMask, queries, keys, causal);
  }

  /**
   * {@link #attentionMask} of a causal attention restricted to a sliding {@code window}
   * ({@link AttentionMask#slidingWindow}); the same as it while the window covers every key.
   */
  public Tensor slidingAttentionMask(int window) {
    return AttentionMask.slidingWindow(attentionMask(true), queries, keys, window);
  }

  /** Per-token values (e.g. token type ids) [B, T] extended with {@code fill} for the virtual tokens: [B, Tq]. */
  public Tensor extendFront(Tensor perToken, long fill) {
    if (stripped == 0) {
      return perToken;
    }
    return Tensor.cat(1, Tensor.full(perToken.dtype(), fill, batch, stripped), perToken);
  }

  /** Drops the virtual token positions of an output [B, Tq, ...]: [B, T, ...]. */
  public Tensor strip(Tensor output) {
    return stripped == 0 ? output : output.narrow(1, stripped, queries - stripped);
  }
}
