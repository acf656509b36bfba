package dev.peft4j.peft.prompt;

import dev.peft4j.data.EncodedExample;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where P-tuning's pseudo tokens go around the input x and the target y (Liu et al. 2021, §3:
 * {@code [P0..Pi] x [Pi+1..Pm] y}). Written with {@code [P]} for one pseudo token, {@code [P:n]}
 * for n, and the slots {@code {x}} (required) and {@code {y}} (optional; without it y follows the
 * template), e.g. {@code "[P:3] {x} [P:2] {y}"}. Applied to an encoded example, it inserts the
 * pseudo-token id at those positions (labelled {@link EncodedExample#IGNORE_INDEX}); the P-tuning
 * delta replaces their embeddings with the prompt encoder's outputs, in order.
 */
public final class PromptTemplate {
  private static final Pattern PART = Pattern.compile("\\[P(?::(\\d+))?]|\\{x}|\\{y}");

  private final String text;
  private final List<Integer> parts; // > 0: that many pseudo tokens; X or Y
  private static final int X = -1;
  private static final int Y = -2;

  private PromptTemplate(String text, List<Integer> parts) {
    this.text = text;
    this.parts = parts;
  }

  /**
   * @throws IllegalArgumentException if the template has anything but pseudo-token groups and
   *     slots, no {@code {x}} slot, a slot twice, {@code {y}} before {@code {x}}, or no pseudo token
   */
  public static PromptTemplate parse(String template) {
    List<Integer> parts = new ArrayList<>();
    Matcher m = PART.matcher(template);
    int at = 0;
    while (m.find()) {
      if (!template.substring(at, m.start()).isBlank()) {
        throw new IllegalArgumentException("template '" + template + "': unexpected '"
            + template.substring(at, m.start()).trim() + "' (use [P], [P:n], {x} and {y})");
      }
      String token = m.group();
      if (token.equals("{x}") || token.equals("{y}")) {
        int slot = token.equals("{x}") ? X : Y;
        if (parts.contains(slot)) {
          throw new IllegalArgumentException("template '" + template + "' has " + token + " twice");
        }
        parts.add(slot);
      } else {
        int n = m.group(1) == null ? 1 : Integer.parseInt(m.group(1));
        if (n <= 0) {
          throw new IllegalArgumentException("template '" + template + "': [P:" + n + "] must place at least one token");
        }
        parts.add(n);
      }
      at = m.end();
    }
    if (!template.substring(at).isBlank()) {
      throw new IllegalArgumentException("template '" + template + "': unexpected '" + template.substring(at).trim()
          + "' (use [P], [P:n], {x} and {y})");
    }
    if (!parts.contains(X)) {
      throw new IllegalArgumentException("template '" + template + "' has no {x} slot for the input");
    }
    if (parts.contains(Y) && parts.indexOf(Y) < parts.indexOf(X)) {
      throw new IllegalArgumentException("template '" + template + "' has {y} before {x}");
    }
    PromptTemplate t = new PromptTemplate(template.trim(), List.copyOf(parts));
    if (t.pseudoTokens() == 0) {
      throw new IllegalArgumentException("template '" + template + "' places no pseudo token ([P] or [P:n])");
    }
    return t;
  }

  /** Number of pseudo tokens the template places. */
  public int pseudoTokens() {
    return parts.stream().filter(p -> p > 0).mapToInt(Integer::intValue).sum();
  }

  /**
   * The example with pseudo tokens inserted. x is the example's leading unlabelled part (a
   * prompt, or a whole classification text), y the rest (the completion); pseudo positions are
   * not scored.
   */
  public EncodedExample apply(EncodedExample example, int pseudoTokenId) {
    int[] ids = example.ids();
    int[] labels = example.labels();
    int split = 0;
    while (split < ids.length && labels[split] == EncodedExample.IGNORE_INDEX) {
      split++;
    }
    List<int[]> outIds = new ArrayList<>();
    List<int[]> outLabels = new ArrayList<>();
    boolean yPlaced = false;
    for (int part : parts) {
      if (part == X || part == Y) {
        int from = part == X ? 0 : split;
        int to = part == X ? split : ids.length;
        outIds.add(java.util.Arrays.copyOfRange(ids, from, to));
        outLabels.add(java.util.Arrays.copyOfRange(labels, from, to));
        yPlaced |= part == Y;
      } else {
        int[] pseudo = new int[part];
        java.util.Arrays.fill(pseudo, pseudoTokenId);
        int[] ignored = new int[part];
        java.util.Arrays.fill(ignored, EncodedExample.IGNORE_INDEX);
        outIds.add(pseudo);
        outLabels.add(ignored);
      }
    }
    if (!yPlaced) {
      outIds.add(java.util.Arrays.copyOfRange(ids, split, ids.length));
      outLabels.add(java.util.Arrays.copyOfRange(labels, split, ids.length));
    }
    int[] newIds = outIds.stream().flatMapToInt(java.util.Arrays::stream).toArray();
    int[] newLabels = outLabels.stream().flatMapToInt(java.util.Arrays::stream).toArray();
    return new EncodedExample(newIds, newLabels, example.classId());
  }

  @Override
  public String toString() {
    return text;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PromptTemplate && ((PromptTemplate) o).parts.equals(parts);
  }

  @Override
  public int hashCode() {
    return parts.hashCode();
  }
}
