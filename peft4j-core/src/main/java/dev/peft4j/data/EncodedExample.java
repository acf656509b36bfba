package dev.peft4j.data;

import java.util.Arrays;

/**
 * One tokenised example.
 *
 * @param ids token ids, at least one
 * @param labels the token each position must predict for language modelling, aligned with
 *     {@code ids} (the model shifts them): the token id itself where the loss applies, {@link
 *     #IGNORE_INDEX} elsewhere (the prompt). All {@link #IGNORE_INDEX} for classification.
 * @param classId the class id for classification, or {@link #NO_CLASS} for language modelling
 */
public record EncodedExample(int[] ids, int[] labels, int classId) {
  /** The label that gets no loss (PyTorch's {@code cross_entropy} {@code ignore_index} default). */
  public static final int IGNORE_INDEX = -100;

  /** {@link #classId()} of a language-modelling example. */
  public static final int NO_CLASS = -1;

  public EncodedExample {
    if (ids.length == 0) {
      throw new IllegalArgumentException("an example needs at least one token");
    }
    if (ids.length != labels.length) {
      throw new IllegalArgumentException("ids and labels differ in length: " + ids.length + " vs " + labels.length);
    }
    if (classId < NO_CLASS) {
      throw new IllegalArgumentException("classId must be a class id >= 0 or NO_CLASS: " + classId);
    }
    ids = ids.clone();
    labels = labels.clone();
  }

  /** A language-modelling example. */
  public static EncodedExample lm(int[] ids, int[] labels) {
    return new EncodedExample(ids, labels, NO_CLASS);
  }

  /** A classification example: the token labels are all {@link #IGNORE_INDEX}. */
  public static EncodedExample classification(int[] ids, int classId) {
    if (classId < 0) {
      throw new IllegalArgumentException("classId must be non-negative: " + classId);
    }
    int[] labels = new int[ids.length];
    Arrays.fill(labels, IGNORE_INDEX);
    return new EncodedExample(ids, labels, classId);
  }

  /** A copy of the token ids. */
  @Override
  public int[] ids() {
    return ids.clone();
  }

  /** A copy of the token labels. */
  @Override
  public int[] labels() {
    return labels.clone();
  }

  /** Number of tokens. */
  public int length() {
    return ids.length;
  }

  /** Whether this is a classification example ({@code classId >= 0}). */
  public boolean isClassification() {
    return classId != NO_CLASS;
  }

  /** Number of positions with a label other than {@link #IGNORE_INDEX}. */
  public int trainedTokens() {
    int n = 0;
    for (int l : labels) {
      n += l == IGNORE_INDEX ? 0 : 1;
    }
    return n;
  }

  int id(int i) {
    return ids[i];
  }

  int label(int i) {
    return labels[i];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EncodedExample
        && Arrays.equals(ids, ((EncodedExample) o).ids)
        && Arrays.equals(labels, ((EncodedExample) o).labels)
        && classId == ((EncodedExample) o).classId;
  }

  @Override
  public int hashCode() {
    return 31 * (31 * Arrays.hashCode(ids) + Arrays.hashCode(labels)) + classId;
  }

  @Override
  public String toString() {
    return "EncodedExample[ids=" + Arrays.toString(ids) + ", labels=" + Arrays.toString(labels)
        + (isClassification() ? ", classId=" + classId : "") + "]";
  }
}
