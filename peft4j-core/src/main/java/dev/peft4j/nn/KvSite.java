package dev.peft4j.nn;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The attention K/V hook site of one layer: the {@link KvDelta}s attached to its {@link Attention}.
 * Prefix keys/values of all active deltas are concatenated in attachment order; separate
 * attentions are summed into the output. It also describes the layer (heads, head size) and
 * offers the layer's own key/value projection, so a delta can turn hidden states into keys and
 * values with the frozen weights.
 */
public final class KvSite {
  /** A module that owns a {@link KvSite} (an architecture's self-attention module). */
  public interface Owner {
    KvSite kvSite();
  }

  /** The layer's key and value projections: hidden states [..., hidden] → {keys, values}, each [..., Hkv·D]. */
  @FunctionalInterface
  public interface Projection {
    Tensor[] keysValues(Tensor hidden);
  }

  private final int layer;
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final long hiddenSize;
  private final Projection projection;
  private final List<KvDelta> deltas = new ArrayList<>();

  public KvSite(int layer, int heads, int kvHeads, int headDim, long hiddenSize, Projection projection) {
    this.layer = layer;
    this.heads = heads;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.hiddenSize = hiddenSize;
    this.projection = projection;
  }

  public int layer() {
    return layer;
  }

  public int heads() {
    return heads;
  }

  public int kvHeads() {
    return kvHeads;
  }

  public int headDim() {
    return headDim;
  }

  /** Width of the hidden states the layer reads. */
  public long hiddenSize() {
    return hiddenSize;
  }

  /** {@code kvHeads · headDim}. */
  public long kvDim() {
    return (long) kvHeads * headDim;
  }

  /** The layer's own key/value projection of {@code hidden} [..., hidden]: {keys, values} [..., kvDim]. */
  public Tensor[] project(Tensor hidden) {
    return projection.keysValues(hidden);
  }

  public void attach(KvDelta delta) {
    deltas.add(delta);
  }

  public boolean detach(KvDelta delta) {
    return deltas.remove(delta);
  }

  public List<KvDelta> deltas() {
    return Collections.unmodifiableList(deltas);
  }

  /** Prefix positions of the active deltas. */
  public long prefixLength() {
    long n = 0;
    for (KvDelta d : deltas) {
      if (d.active()) {
        n += d.prefixLength();
      }
    }
    return n;
  }

  /** Which prefix positions each row sees: bool [B, P], or null when every row sees all of them. */
  public Tensor prefixRows(long batch) {
    List<Tensor> parts = new ArrayList<>();
    boolean any = false;
    for (KvDelta d : deltas) {
      if (d.active() && d.prefixLength() > 0) {
        Tensor rows = d.rows(batch);
        any |= rows != null;
        parts.add(rows == null
            ? Tensor.ones(DType.BOOL, batch, d.prefixLength())
            : rows.view(batch, 1).expand(batch, d.prefixLength()));
      }
    }
    return any ? Tensor.cat(1, parts.toArray(new Tensor[0])) : null;
  }

  /** The prefix keys and values, each [B, Hkv, P, D] in {@code dtype}, or null if there is none. */
  Tensor[] prefix(long batch, DType dtype) {
    List<Tensor> keys = new ArrayList<>();
    List<Tensor> values = new ArrayList<>();
    for (KvDelta d : deltas) {
      if (d.active() && d.prefixLength() > 0) {
        Tensor[] kv = d.prefix(this, batch);
        keys.add(kv[0].expand(batch, kvHeads, d.prefixLength(), headDim).to(dtype));
        values.add(kv[1].expand(batch, kvHeads, d.prefixLength(), headDim).to(dtype));
      }
    }
    if (keys.isEmpty()) {
      return null;
    }
    return new Tensor[] {Tensor.cat(2, keys.toArray(new Tensor[0])), Tensor.cat(2, values.toArray(new Tensor[0]))};
  }

  /** {@code out} [B, H, T, D] plus every active delta's separate attention. */
  Tensor addSeparate(Tensor out, Tensor queries, double scale) {
    for (KvDelta d : deltas) {
      if (d.active()) {
        Tensor extra = d.separateAttention(this, queries, scale);
        if (extra != null) {
          out = out.add(extra.to(out.dtype()));
        }
      }
    }
    return out;
  }

  /**
   * The prefix shared by the layers of a model: its length and row mask. Every layer must carry
   * the same number of prefix positions, since they shift the positions of the tokens.
   *
   * @throws IllegalStateException if the layers disagree
   */
  public static Prefix commonPrefix(List<KvSite> sites, long batch) {
    long length = sites.isEmpty() ? 0 : sites.get(0).prefixLength();
    for (KvSite s : sites) {
      if (s.prefixLength() != length) {
        throw new IllegalStateException("layer " + s.layer + " has " + s.prefixLength()
            + " prefix key/value positions but layer " + sites.get(0).layer + " has " + length
            + "; a prefix must cover every layer");
      }
    }
    return new Prefix(length, length == 0 ? null : sites.get(0).prefixRows(batch));
  }

  /**
   * @param length prefix positions in every layer
   * @param rows bool [B, length], or null when every row sees all of them
   */
  public record Prefix(long length, Tensor rows) {}
}
