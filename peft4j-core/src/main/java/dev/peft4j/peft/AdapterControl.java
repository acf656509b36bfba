package dev.peft4j.peft;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Tensor;
import java.util.function.UnaryOperator;

/**
 * Switches of one attached adapter, read by its deltas at every forward: whether it contributes
 * ({@link PeftModel#setActive}, {@link PeftModel#disableAdapters()}), whether the model is
 * training (dropout on), and — in a mixed batch — which rows it applies to.
 */
public final class AdapterControl {
  private boolean enabled = true;
  private boolean training;
  private Tensor rows; // int64 [R] row indices in a mixed batch, or null for every row

  /** Whether the adapter contributes at all now (false when inactive, disabled, or used by no row). */
  public boolean enabled() {
    return enabled && (rows == null || rows.numel() > 0);
  }

  public boolean training() {
    return training;
  }

  /**
   * The adapter's change for the whole batch: {@code delta} applied to the rows that use this
   * adapter (all rows unless a mixed batch says otherwise) and zero for the others. Rows that
   * share the adapter are gathered and computed together.
   *
   * @param input [B, ...] the delta's input
   * @param delta maps the selected rows [R, ...] to their change [R, ...]
   * @return [B, ...] the change for every row
   */
  public Tensor forRows(Tensor input, UnaryOperator<Tensor> delta) {
    if (rows == null) {
      return delta.apply(input);
    }
    Tensor selected = delta.apply(input.indexSelect(0, rows));
    long[] shape = selected.shape();
    shape[0] = input.size(0);
    return Tensor.zeros(selected.dtype(), shape).indexAdd(0, rows, selected);
  }

  /**
   * The rows this adapter applies to as a mask, bool [B], or null for every row — for deltas
   * that add positions (prefix, virtual tokens) and mask them out for the other rows.
   *
   * @throws IllegalArgumentException if the mixed batch names a row beyond {@code batch}
   */
  public Tensor rowMask(long batch) {
    if (rows == null) {
      return null;
    }
    if (rows.numel() > 0 && (long) rows.max().item() >= batch) {
      throw new IllegalArgumentException("the mixed batch names row " + (long) rows.max().item()
          + " but the batch has " + batch + " rows");
    }
    return Tensor.zeros(DType.I64, batch).indexAdd(0, rows, Tensor.ones(DType.I64, rows.numel())).ne(0);
  }

  /** The rows this adapter applies to in the current mixed batch, or null for every row. */
  public Tensor rows() {
    return rows;
  }

  void setEnabled(boolean value) {
    enabled = value;
  }

  void setTraining(boolean value) {
    training = value;
  }

  void setRows(Tensor value) {
    rows = value;
  }
}
