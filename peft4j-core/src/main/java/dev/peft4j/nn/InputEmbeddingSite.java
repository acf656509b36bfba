package dev.peft4j.nn;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The input-embedding hook site: the {@link InputDelta}s applied to a model's token embeddings
 * (the word-embedding output, before position embeddings are added). Virtual tokens of all
 * active deltas are concatenated in attachment order. {@link VirtualInputs} does the bookkeeping
 * of a forward pass (masks, positions, cache, stripping).
 */
public final class InputEmbeddingSite {
  /** A module that owns an {@link InputEmbeddingSite} (a model's embedding stage). */
  public interface Owner {
    InputEmbeddingSite inputEmbeddingSite();
  }

  private final Embedding wordEmbeddings;
  private final List<InputDelta> deltas = new ArrayList<>();

  public InputEmbeddingSite(Embedding wordEmbeddings) {
    this.wordEmbeddings = wordEmbeddings;
  }

  /** The model's (frozen) token embedding table, e.g. to initialise prompts from words. */
  public Embedding wordEmbeddings() {
    return wordEmbeddings;
  }

  public void attach(InputDelta delta) {
    deltas.add(delta);
  }

  public boolean detach(InputDelta delta) {
    return deltas.remove(delta);
  }

  public List<InputDelta> deltas() {
    return Collections.unmodifiableList(deltas);
  }

  /** Virtual tokens of the active deltas. */
  public long virtualLength() {
    long n = 0;
    for (InputDelta d : deltas) {
      if (d.active()) {
        n += d.virtualLength();
      }
    }
    return n;
  }

  /** Which virtual tokens each row uses: bool [B, V], or null when every row uses all. */
  Tensor virtualRows(long batch) {
    List<Tensor> parts = new ArrayList<>();
    boolean any = false;
    for (InputDelta d : deltas) {
      if (d.active() && d.virtualLength() > 0) {
        Tensor rows = d.rows(batch);
        any |= rows != null;
        parts.add(rows == null
            ? Tensor.ones(DType.BOOL, batch, d.virtualLength())
            : rows.view(batch, 1).expand(batch, d.virtualLength()));
      }
    }
    return any ? Tensor.cat(1, parts.toArray(new Tensor[0])) : null;
  }

  /** The virtual tokens [B, V, hidden] in {@code dtype}, or null if there are none. */
  Tensor virtualTokens(long batch, DType dtype) {
    List<Tensor> parts = new ArrayList<>();
    for (InputDelta d : deltas) {
      if (d.active() && d.virtualLength() > 0) {
        Tensor t = d.virtualTokens(batch);
        parts.add(t.expand(batch, d.virtualLength(), t.size(-1)).to(dtype));
      }
    }
    return parts.isEmpty() ? null : Tensor.cat(1, parts.toArray(new Tensor[0]));
  }

  /** {@code embeddings} after every active delta's substitution. */
  Tensor substitute(Tensor ids, Tensor embeddings) {
    for (InputDelta d : deltas) {
      if (d.active()) {
        embeddings = d.substitute(ids, embeddings);
      }
    }
    return embeddings;
  }
}
