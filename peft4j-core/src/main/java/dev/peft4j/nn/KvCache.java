package dev.peft4j.nn;

import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.Arrays;
import java.util.function.UnaryOperator;

/**
 * Keys and values of the positions a causal model has already processed, one pair per layer,
 * so decoding a new token costs one position instead of the whole sequence. The cache
 * outlives the scopes of the steps that fill it; {@link #close()} frees it. Between steps, rows
 * can be dropped ({@link #keepRows}), added from another cache ({@link #appendRows}) and common
 * left padding cut ({@link #dropLeading}): continuous batching in {@code dev.peft4j.serve}.
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

  // ------------------------------------------------ row operations, for continuous batching

  /** Number of rows (batch entries) cached; 0 when empty. */
  public long rows() {
    return keys[0] == null ? 0 : keys[0].size(0);
  }

  /**
   * Keeps only rows {@code rows}, in that order (e.g. drops the rows of finished requests).
   * The caller drops the same rows from its attention mask.
   *
   * @throws IllegalArgumentException if the list is empty or names a row outside [0, rows())
   */
  public void keepRows(long[] rows) {
    checkNoVirtualPositions();
    long n = rows();
    if (rows.length == 0) {
      throw new IllegalArgumentException("keepRows needs at least one row; close() the cache to drop all");
    }
    for (long r : rows) {
      if (r < 0 || r >= n) {
        throw new IllegalArgumentException("row " + r + " is outside [0, " + n + ")");
      }
    }
    try (Scope scope = Scope.open()) {
      Tensor index = Tensor.ofLongs(rows, rows.length);
      replaceAll(t -> t.indexSelect(0, index));
    }
  }

  /**
   * Appends the rows of {@code other} after this cache's rows and empties {@code other}. The
   * shorter of the two is padded on the left with zero keys and values, so every row keeps its
   * positions right-aligned: the caller's attention mask must mark the padding 0 (positions are
   * counted from the mask, so a row's positions do not change).
   *
   * @throws IllegalArgumentException if {@code other} is this cache or has another layer count
   */
  public void appendRows(KvCache other) {
    checkNoVirtualPositions();
    if (other == this) {
      throw new IllegalArgumentException("cannot append a cache to itself");
    }
    if (other.keys.length != keys.length) {
      throw new IllegalArgumentException("cannot append a cache of " + other.keys.length
          + " layers to one of " + keys.length);
    }
    if (other.keys[0] == null) {
      return;
    }
    if (keys[0] == null) {
      System.arraycopy(other.keys, 0, keys, 0, keys.length);
      System.arraycopy(other.values, 0, values, 0, values.length);
      Arrays.fill(other.keys, null);
      Arrays.fill(other.values, null);
      return;
    }
    long length = Math.max(length(), other.length());
    try (Scope scope = Scope.open()) {
      for (int i = 0; i < keys.length; i++) {
        Tensor k = Tensor.cat(0, padLeft(keys[i], length), padLeft(other.keys[i], length)).retain();
        Tensor v = Tensor.cat(0, padLeft(values[i], length), padLeft(other.values[i], length)).retain();
        keys[i].close();
        values[i].close();
        keys[i] = k;
        values[i] = v;
      }
    }
    other.close();
  }

  /**
   * Removes the first {@code positions} cached positions of every row: positions that the
   * attention mask hides in every row (left padding left behind by rows that were dropped).
   *
   * @throws IllegalArgumentException unless {@code 0 <= positions < length()}
   */
  public void dropLeading(long positions) {
    checkNoVirtualPositions();
    long length = length();
    if (positions < 0 || (positions > 0 && positions >= length)) {
      throw new IllegalArgumentException("can drop 0 to " + (length - 1) + " leading positions, not " + positions);
    }
    if (positions == 0) {
      return;
    }
    try (Scope scope = Scope.open()) {
      replaceAll(t -> t.narrow(2, positions, length - positions).contiguous());
    }
  }

  /** Replaces every cached tensor by {@code f} of it (a new tensor), freeing the old one. */
  private void replaceAll(UnaryOperator<Tensor> f) {
    for (int i = 0; i < keys.length; i++) {
      Tensor k = f.apply(keys[i]).retain();
      Tensor v = f.apply(values[i]).retain();
      keys[i].close();
      values[i].close();
      keys[i] = k;
      values[i] = v;
    }
  }

  /** [B, H, T, D] → [B, H, length, D] with zeros in front. */
  private static Tensor padLeft(Tensor t, long length) {
    long missing = length - t.size(2);
    if (missing == 0) {
      return t;
    }
    long[] shape = t.shape();
    shape[2] = missing;
    return Tensor.cat(2, Tensor.zeros(t.dtype(), shape), t);
  }

  /**
   * Row surgery does not yet carry virtual positions (prefix/prompt methods) along; refuse rather
   * than mis-align them.
   */
  private void checkNoVirtualPositions() {
    if (virtualLength > 0) {
      throw new IllegalStateException("this cache holds " + virtualLength
          + " virtual positions (prefix or prompt adapters); adding or removing rows is not supported for them yet");
    }
  }
}
