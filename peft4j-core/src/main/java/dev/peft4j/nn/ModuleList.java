package dev.peft4j.nn;

import java.util.ArrayList;
import java.util.List;

/** An ordered list of child modules named {@code 0, 1, 2, ...} (PyTorch's {@code nn.ModuleList}). */
public final class ModuleList<M extends Module> extends Module {
  private final List<M> items = new ArrayList<>();

  public M add(M module) {
    child(Integer.toString(items.size()), module);
    items.add(module);
    return module;
  }

  public M get(int index) {
    return items.get(index);
  }

  public int size() {
    return items.size();
  }

  public List<M> asList() {
    return java.util.Collections.unmodifiableList(items);
  }
}
