package dev.peft4j.data;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The class labels of a classification task: ordered names, id {@code i} being the {@code i}-th.
 * These are the {@code id2label}/{@code label2id} of a Hugging Face {@code config.json}.
 * Immutable.
 */
public final class LabelSet {
  private final List<String> names;
  private final Map<String, Integer> ids;

  private LabelSet(List<String> names) {
    this.names = List.copyOf(names);
    Map<String, Integer> ids = new HashMap<>();
    for (int i = 0; i < this.names.size(); i++) {
      String name = this.names.get(i);
      if (name.isEmpty()) {
        throw new IllegalArgumentException("labels must not be empty strings: index " + i);
      }
      if (ids.putIfAbsent(name, i) != null) {
        throw new IllegalArgumentException("duplicate label \"" + name + "\" at index " + ids.get(name) + " and " + i);
      }
    }
    if (this.names.isEmpty()) {
      throw new IllegalArgumentException("a label set needs at least one label");
    }
    this.ids = Collections.unmodifiableMap(ids);
  }

  /**
   * Labels in the given order: {@code names.get(i)} gets id {@code i}.
   *
   * @throws IllegalArgumentException if {@code names} is empty or has an empty or duplicate name
   */
  public static LabelSet of(List<String> names) {
    return new LabelSet(names);
  }

  /**
   * The distinct labels of {@code labels}, sorted so that ids do not depend on example order:
   * numerically when every label is an integer ({@code "2"} before {@code "10"}), otherwise by
   * {@link String#compareTo}.
   *
   * @throws IllegalArgumentException if there are no labels
   */
  public static LabelSet sorted(Collection<String> labels) {
    boolean numeric = !labels.isEmpty() && labels.stream().allMatch(l -> l.matches("-?[0-9]+"));
    // Ties such as "01" and "1" are distinct labels: break them by the text.
    Comparator<String> order = numeric
        ? Comparator.<String, BigInteger>comparing(BigInteger::new).thenComparing(Comparator.naturalOrder())
        : Comparator.naturalOrder();
    TreeSet<String> distinct = new TreeSet<>(order);
    distinct.addAll(labels);
    return new LabelSet(new ArrayList<>(distinct));
  }

  /**
   * The labels of a classification dataset, {@link #sorted sorted}.
   *
   * @throws IllegalArgumentException if an example of {@code dataset} is not a {@link
   *     ClassificationExample}
   */
  public static LabelSet fromDataset(Dataset dataset) {
    List<String> labels = new ArrayList<>(dataset.size());
    for (int i = 0; i < dataset.size(); i++) {
      Example e = dataset.get(i);
      if (!(e instanceof ClassificationExample)) {
        throw new IllegalArgumentException("not a classification dataset: example " + (i + 1) + " is a "
            + e.getClass().getSimpleName());
      }
      labels.add(((ClassificationExample) e).label());
    }
    return sorted(labels);
  }

  /** Number of labels. */
  public int size() {
    return names.size();
  }

  /** The label names in id order. */
  public List<String> names() {
    return names;
  }

  /** The name of label {@code id}. */
  public String name(int id) {
    return names.get(id);
  }

  /** Whether {@code label} is in this set. */
  public boolean contains(String label) {
    return ids.containsKey(label);
  }

  /**
   * The id of {@code label}.
   *
   * @throws IllegalArgumentException naming the label and the known labels, if it is not in the set
   */
  public int id(String label) {
    Integer id = ids.get(label);
    if (id == null) {
      throw new IllegalArgumentException("label \"" + label + "\" is not in the label set " + names);
    }
    return id;
  }

  /** {@code id → name}, in id order. */
  public Map<Integer, String> id2label() {
    Map<Integer, String> out = new LinkedHashMap<>();
    for (int i = 0; i < names.size(); i++) {
      out.put(i, names.get(i));
    }
    return Collections.unmodifiableMap(out);
  }

  /** {@code name → id}, in id order. */
  public Map<String, Integer> label2id() {
    Map<String, Integer> out = new LinkedHashMap<>();
    for (int i = 0; i < names.size(); i++) {
      out.put(names.get(i), i);
    }
    return Collections.unmodifiableMap(out);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LabelSet && ((LabelSet) o).names.equals(names);
  }

  @Override
  public int hashCode() {
    return names.hashCode();
  }

  @Override
  public String toString() {
    return "LabelSet" + names;
  }
}
