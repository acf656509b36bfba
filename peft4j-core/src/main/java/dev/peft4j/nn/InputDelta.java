package dev.peft4j.nn;

import dev.peft4j.tensor.Tensor;

/**
 * A learned change at the input-embedding hook site ({@link InputEmbeddingSite}): virtual tokens
 * prepended to the token embeddings (prompt tuning, P-tuning), or embeddings substituted at marked
 * positions of the input (P-tuning templates). The model code knows no delta by name.
 */
public interface InputDelta {

  /** Whether the delta contributes now (false while its adapter is disabled). */
  boolean active();

  /** Number of virtual tokens {@link #virtualTokens} returns; 0 if it prepends none. */
  default long virtualLength() {
    return 0;
  }

  /** The virtual tokens to prepend, [B or 1, V, hidden], or null if {@link #virtualLength()} is 0. */
  default Tensor virtualTokens(long batch) {
    return null;
  }

  /**
   * Which rows of a batch of {@code batch} rows use the virtual tokens: bool [B], or null for all.
   * In other rows they are masked out like padding.
   */
  default Tensor rows(long batch) {
    return null;
  }

  /**
   * The token embeddings with some positions replaced, on the first forward pass of a sequence
   * (not on later cached decoding steps).
   *
   * @param ids int64 [B, T]
   * @param embeddings [B, T, hidden]
   * @return [B, T, hidden]
   */
  default Tensor substitute(Tensor ids, Tensor embeddings) {
    return embeddings;
  }
}
