package dev.peft4j.peft;

import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The deltas of one adapter merged into their hosts' weights, in order: every merge is computed and
 * checked before any is written, so a failure changes nothing, and unmerging goes in reverse.
 */
public final class MergedDeltas {
  private final List<MergeableDelta> order = new ArrayList<>();

  /** Whether a merge is in effect. */
  public boolean any() {
    return !order.isEmpty();
  }

  /**
   * Merges {@code deltas} (by host path); a no-op while merged.
   *
   * @throws IllegalStateException from the first delta whose merge would not be finite; nothing changed
   */
  public void merge(Map<String, ? extends MergeableDelta> deltas) {
    if (any()) {
      return;
    }
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      List<Runnable> writes = new ArrayList<>();
      deltas.forEach((module, d) -> writes.add(d.prepareMerge(module)));
      writes.forEach(Runnable::run);
      order.addAll(deltas.values());
    }
  }

  /** Unmerges in reverse order of merging. */
  public void unmerge() {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      for (int i = order.size() - 1; i >= 0; i--) {
        order.get(i).unmerge();
      }
      order.clear();
    }
  }
}
