package dev.peft4j.nn;

import dev.peft4j.tensor.Tensor;

/**
 * Keys and values of the positions a causal model has already processed, one pair per layer,
 * so decoding a new token costs one position instead of the whole sequence. The cache
 * outlives the scopes of the steps that fill it; {@link #close()} frees it.
 */
public final class KvCache implements AutoCloseable {
  private final Tensor[] keys;   // per layer: [B, Hkv, T, D]
  private final Tensor[] values; // per layer: [B, Hkv, T, D]
  private long virtualLength;    // leading positions that are virtual (see VirtualInputs)
  private Tensor virtualMask;    // bool [B, virtualLength] of the rows using them, or null for all

  public KvCache(int layers) {
    this.keys = new Tensor[layers];
    this.values = new Tensor[layers];
  }

  /** Number of positions cached (0 when empty). */
  public long length() {
    return keys[0] == null ? 0 : keys[0].size(2);
  }

  /**
   * How many of the cached positions are virtual (prefix keys/values and virtual tokens added by
   * PEFT methods, see {@link VirtualInputs}); the caller's attention mask covers only the others.
   */
  public long virtualLength() {
    return virtualLength;
  }

  /** Which rows use the virtual positions: bool [B, virtualLength], or null for all rows. */
  Tensor virtualMask() {
    return virtualMask;
  }

  /** Records the virtual positions added by the first forward pass. */
  void setVirtual(long length, Tensor mask) {
    virtualLength = length;
    virtualMask = mask == null ? null : mask.copy().retain();
  }

  /** Whether {@code layer} has nothing cached yet. */
  boolean isEmpty(int layer) {
    return keys[layer] == null;
  }

  /** Frees the cached tensors; the cache is empty afterwards. */
  @Override
  public void close() {
    if (virtualMask != null) {
      virtualMask.close();
      virtualMask = null;
    }
    virtualLength = 0;
    for (int i = 0; i < keys.length; i++) {
      if (keys[i] != null) {
        keys[i].close();
        values[i].close();
        keys[i] = null;
        values[i] = null;
      }
    }
  }

  /**
   * Appends this step's keys and values for {@code layer} and returns the full history.
   * The cache owns the result; the previous tensors are released.
   */
  Tensor[] append(int layer, Tensor k, Tensor v) {
    Tensor newK = keys[layer] == null ? k.copy() : Tensor.cat(2, keys[layer], k);
    Tensor newV = values[layer] == null ? v.copy() : Tensor.cat(2, values[layer], v);
    if (keys[layer] != null) {
      keys[layer].close();
      values[layer].close();
    }
    keys[layer] = newK.retain();
    values[layer] = newV.retain();
    return new Tensor[] {newK, newV};
  }
}
