package dev.peft4j.peft;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Tensor;

/**
 * Switches shared by every delta of one {@link PeftModel}: whether adapters contribute at all
 * ({@link PeftModel#disableAdapters()}), whether the model is training (dropout on), and which
 * rows of a batch use the adapter ({@link PeftModel#selectRows}).
 */
public final class AdapterControl {
  private boolean enabled = true;
  private boolean training;
  private boolean[] rows; // null: every row

  public boolean enabled() {
    return enabled;
  }

  public boolean training() {
    return training;
  }

  void setEnabled(boolean value) {
    enabled = value;
  }

  void setTraining(boolean value) {
    training = value;
  }

  void setRows(boolean[] value) {
    rows = value == null ? null : value.clone();
  }

  /**
   * Which rows of a batch of {@code batch} rows use the adapter: bool [B], or null for all.
   *
   * @throws IllegalArgumentException if a row selection is in effect for another batch size
   */
  public Tensor rows(long batch) {
    if (rows == null) {
      return null;
    }
    if (rows.length != batch) {
      throw new IllegalArgumentException("the adapter is selected for " + rows.length
          + " rows (PeftModel.selectRows) but the batch has " + batch);
    }
    long[] flags = new long[rows.length];
    for (int i = 0; i < rows.length; i++) {
      flags[i] = rows[i] ? 1 : 0;
    }
    return Tensor.ofLongs(flags, rows.length).ne(0).to(DType.BOOL);
  }
}
