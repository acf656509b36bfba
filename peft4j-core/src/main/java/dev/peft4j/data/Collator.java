package dev.peft4j.data;

import static dev.peft4j.data.EncodedExample.IGNORE_INDEX;

import dev.peft4j.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/** Pads encoded examples into a {@link Batch}. */
public final class Collator {
  private Collator() {}

  /**
   * Right-pads {@code rows} to the longest one: ids with {@code padId}, attention mask with 0,
   * token labels with {@link EncodedExample#IGNORE_INDEX}. Labels are {@code [B, T]} token labels
   * when the rows are language-modelling examples and {@code [B]} class ids when they are
   * classification examples.
   *
   * @throws IllegalArgumentException if {@code rows} is empty or mixes the two kinds
   */
  public static Batch collate(List<EncodedExample> rows, int padId) {
    if (rows.isEmpty()) {
      throw new IllegalArgumentException("cannot collate an empty batch");
    }
    boolean classification = rows.get(0).isClassification();
    int width = 0;
    for (EncodedExample row : rows) {
      if (row.isClassification() != classification) {
        throw new IllegalArgumentException("a batch cannot mix classification and language-modelling examples");
      }
      width = Math.max(width, row.length());
    }
    int b = rows.size();
    long[] ids = new long[b * width];
    long[] mask = new long[b * width];
    long[] tokenLabels = classification ? null : new long[b * width];
    long[] classIds = classification ? new long[b] : null;
    Arrays.fill(ids, padId);
    if (tokenLabels != null) {
      Arrays.fill(tokenLabels, IGNORE_INDEX);
    }
    int real = 0;
    for (int r = 0; r < b; r++) {
      EncodedExample row = rows.get(r);
      int base = r * width;
      for (int i = 0; i < row.length(); i++) {
        ids[base + i] = row.id(i);
        mask[base + i] = 1;
        if (tokenLabels != null) {
          tokenLabels[base + i] = row.label(i);
        }
      }
      if (classIds != null) {
        classIds[r] = row.classId();
      }
      real += row.length();
    }
    Tensor labels = classification ? Tensor.ofLongs(classIds, b) : Tensor.ofLongs(tokenLabels, b, width);
    return new Batch(Tensor.ofLongs(ids, b, width), Tensor.ofLongs(mask, b, width), labels, real);
  }
}
