package dev.peft4j.nn;

import dev.peft4j.tensor.DType;
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
 *
 * <p>Layout of every row: {@code [virtual positions | real positions]}. The virtual block (prefix
 * keys/values and virtual tokens, see {@link VirtualInputs}) is masked per row by the cache's own
 * mask; the real block by the caller's attention mask. Row operations keep both blocks aligned:
 * appending pads each block on its left with masked positions, so every row keeps the number of
 * positions it attends to, and with it its position ids (counted over the masks).
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

  /** Number of positions cached (0 when empty), virtual ones included. */
  public long length() {
    return keys[0] == null ? 0 : keys[0].size(2);
  }

  /** Number of real (non-virtual) positions cached: what the caller's attention mask covers. */
  public long realLength() {
    return length() - virtualLength;
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
    setVirtualMask(length, mask == null ? null : mask.copy());
  }

  /** Replaces the virtual length and row mask (taken into the cache's ownership), freeing the old mask. */
  private void setVirtualMask(long length, Tensor mask) {
    if (virtualMask != null) {
      virtualMask.close();
    }
    virtualLength = length;
    virtualMask = mask == null ? null : mask.retain();
  }

  /** Whether {@code layer} has nothing cached yet. */
  boolean isEmpty(int layer) {
    return keys[layer] == null;
  }

  /** Frees the cached tensors; the cache is empty afterwards. */
  @Override
  public void close() {
    setVirtualMask(0, null);
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
      if (virtualMask != null) {
        setVirtualMask(virtualLength, virtualMask.indexSelect(0, index));
      }
    }
  }

  /**
   * Appends the rows of {@code other} after this cache's rows and empties {@code other}. In each
   * block the shorter of the two is padded on the left with zero keys and values, so every row
   * keeps its positions right-aligned: the padding of the virtual block is masked by the cache, and
   * the caller's attention mask must mark the padding of the real block 0 (positions are counted
   * from the masks, so a row's positions do not change).
   *
   * @throws IllegalArgumentException if {@code other} is this cache or has another layer count
   */
  public void appendRows(KvCache other) {
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
      setVirtualMask(0, null);
      virtualLength = other.virtualLength; // the mask, retained already, changes owner
      virtualMask = other.virtualMask;
      other.virtualMask = null;
      other.virtualLength = 0;
      return;
    }
    long virtual = Math.max(virtualLength, other.virtualLength);
    long real = Math.max(realLength(), other.realLength());
    try (Scope scope = Scope.open()) {
      boolean allRowsUseAll = virtualLength == other.virtualLength && virtualMask == null && other.virtualMask == null;
      Tensor mask = virtual == 0 || allRowsUseAll ? null : Tensor.cat(0, rowMask(virtual), other.rowMask(virtual));
      for (int i = 0; i < keys.length; i++) {
        Tensor k = Tensor.cat(0, align(keys[i], virtualLength, virtual, real),
            align(other.keys[i], other.virtualLength, virtual, real)).retain();
        Tensor v = Tensor.cat(0, align(values[i], virtualLength, virtual, real),
            align(other.values[i], other.virtualLength, virtual, real)).retain();
        keys[i].close();
        values[i].close();
        keys[i] = k;
        values[i] = v;
      }
      setVirtualMask(virtual, mask);
    }
    other.close();
  }

  /**
   * Removes the first {@code positions} real positions of every row: positions that the attention
   * mask hides in every row (left padding left behind by rows that were dropped). The virtual
   * positions stay.
   *
   * @throws IllegalArgumentException unless {@code 0 <= positions < realLength()}
   */
  public void dropLeading(long positions) {
    long real = realLength();
    if (positions < 0 || (positions > 0 && positions >= real)) {
      throw new IllegalArgumentException("can drop 0 to " + (real - 1) + " leading positions, not " + positions);
    }
    if (positions == 0) {
      return;
    }
    try (Scope scope = Scope.open()) {
      replaceAll(t -> Tensor.cat(2, t.narrow(2, 0, virtualLength), t.narrow(2, virtualLength + positions, real - positions)));
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

  /**
   * [B, H, v + r, D] with {@code v} virtual positions → [B, H, virtual + real, D]: each block
   * padded with zeros in front.
   */
  private static Tensor align(Tensor t, long v, long virtual, long real) {
    long r = t.size(2) - v;
    if (v == virtual && r == real) {
      return t;
    }
    return Tensor.cat(2, zeros(t, virtual - v), t.narrow(2, 0, v), zeros(t, real - r), t.narrow(2, v, r));
  }

  /** Zero keys or values for {@code positions} positions of {@code like}'s rows: [B, H, positions, D]. */
  private static Tensor zeros(Tensor like, long positions) {
    long[] shape = like.shape();
    shape[2] = positions;
    return Tensor.zeros(like.dtype(), shape);
  }

  /** Which rows use which of {@code virtual} virtual positions after left-padding this cache's: bool [B, virtual]. */
  private Tensor rowMask(long virtual) {
    Tensor own = virtualMask != null ? virtualMask : Tensor.ones(DType.BOOL, rows(), virtualLength);
    return virtual == virtualLength ? own : Tensor.cat(1, Tensor.zeros(DType.BOOL, rows(), virtual - virtualLength), own);
  }
}
