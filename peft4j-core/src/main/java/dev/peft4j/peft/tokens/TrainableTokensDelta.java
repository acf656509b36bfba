package dev.peft4j.peft.tokens;

import dev.peft4j.nn.Embedding;
import dev.peft4j.nn.HeadDelta;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.OutputDelta;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.Adapter;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.MergeableDelta;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * Rows of an embedding table trained in full (PEFT's TrainableTokens: the {@code TRAINABLE_TOKENS}
 * method, or {@code trainable_token_indices} beside LoRA):
 * the lookup in the table whose rows {@code idx} are replaced by the trained {@code D}
 * ({@code trainable_tokens_delta} [n, dim], starting as the rows it replaces). As a change to the
 * lookup's output that is {@code D − W[idx]} at the positions whose id is in {@code idx} and zero
 * elsewhere — a ΔW with n non-zero rows. An output head tied to the table sees the same rows
 * ({@link HeadDelta}), as PEFT's tied adapter on {@code lm_head} does. Merging writes D into the
 * table; unmerging writes the original rows back.
 */
public final class TrainableTokensDelta extends Module implements OutputDelta, HeadDelta, MergeableDelta {
  /** PEFT's name of D. */
  public static final String PARAMETER = "trainable_tokens_delta";

  private final Embedding host;
  private final AdapterControl control;
  private final Tensor index; // int64 [n]: the token ids
  private final Tensor slots; // int64 [vocab]: each id's row of D, or n (a zero row) for ids not trained
  private final Tensor original; // W[idx] when attached, in the table's dtype
  private final Parameter delta; // D [n, dim]
  private boolean merged;

  /**
   * @param ids distinct token ids inside the table (checked by {@link TokenRows#check})
   * @param fromRows D starts as the rows it replaces (the model unchanged); else N(0, 1) (PEFT's {@code init_weights=false})
   */
  TrainableTokensDelta(Embedding host, List<Integer> ids, boolean fromRows, AdapterControl control) {
    this.host = host;
    this.control = control;
    long vocab = host.numEmbeddings();
    long[] slotOf = new long[Math.toIntExact(vocab)];
    Arrays.fill(slotOf, ids.size());
    for (int i = 0; i < ids.size(); i++) {
      slotOf[ids.get(i)] = i;
    }
    this.index = Tensor.ofLongs(ids.stream().mapToLong(Integer::longValue).toArray(), ids.size()).retain();
    this.slots = Tensor.ofLongs(slotOf, vocab).retain();
    this.delta = parameter(PARAMETER, ids.size(), host.outFeatures());
    try (Engine.GradGuard g = Engine.noGrad()) {
      this.original = host.weight().value().indexSelect(0, index).retain();
      DType dtype = Adapter.trainedDType(original.dtype());
      delta.set(fromRows ? original.to(dtype).copy() // its own storage, never original's
          : Tensor.randn(DType.F32, ids.size(), host.outFeatures()).to(dtype));
    }
  }

  /** D, {@code trainable_tokens_delta} [n, dim]. */
  public Parameter delta() {
    return delta;
  }

  @Override
  public boolean active() {
    return control.enabled() && !merged;
  }

  /** The output plus {@link #apply}'s change. */
  @Override
  public Tensor applyTo(Tensor output, Tensor input) {
    return output.add(apply(input));
  }

  /** @param ids int64 [B, ...] @return [B, ..., dim]: D − W[idx] where an id is trained, 0 elsewhere */
  public Tensor apply(Tensor ids) {
    return control.forRows(ids, rows -> {
      Tensor change = rowChange();
      Tensor table = Tensor.cat(0, change, Tensor.zeros(change.dtype(), 1, change.size(1)));
      Tensor slot = slots.indexSelect(0, rows.reshape(-1)).view(rows.shape());
      return Functional.embedding(table, slot).to(original.dtype());
    });
  }

  /** D − W[idx] [n, dim], in D's dtype: the change to the table's trained rows. */
  private Tensor rowChange() {
    Tensor d = delta.value();
    return d.sub(original.to(d.dtype()));
  }

  /**
   * The tied head with the trained rows: {@code hidden (D − W[idx])ᵀ} added to the logits' columns idx.
   *
   * @throws IllegalStateException in a mixed batch: the head's input may be positions of several rows
   *     (chunked training), so rows cannot be told apart
   */
  @Override
  public Tensor addToHead(Tensor logits, Tensor hidden) {
    if (control.rows() != null) {
      throw new IllegalStateException("trainable tokens on a table tied to the output head cannot run per row;"
          + " activate the adapter for the whole batch");
    }
    Tensor rows = rowChange();
    Tensor change = Functional.linear(hidden.to(rows.dtype()), rows, null); // [..., n]
    return logits.indexAdd(-1, index, change.to(logits.dtype()));
  }

  /** Converts D to {@code dtype} (float32 by default on a bf16/f16 table, as LoRA's matrices). */
  public void castTo(DType dtype) {
    try (Engine.GradGuard g = Engine.noGrad()) {
      delta.set(delta.value().to(dtype));
    }
  }

  /**
   * Returns what writes D into the table's rows.
   *
   * @throws IllegalStateException naming {@code module} if D has NaN or infinite values
   */
  @Override
  public Runnable prepareMerge(String module) {
    if (!delta.value().allFinite()) {
      throw new IllegalStateException("trained rows of '" + module + "' have NaN or infinite values; nothing merged");
    }
    return () -> {
      host.weight().value().indexCopy_(0, index, delta.value().to(original.dtype()));
      merged = true;
    };
  }

  /** Writes the original rows back. */
  @Override
  public void unmerge() {
    host.weight().value().indexCopy_(0, index, original);
    merged = false;
  }

}
