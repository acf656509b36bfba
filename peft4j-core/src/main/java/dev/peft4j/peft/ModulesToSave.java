package dev.peft4j.peft;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Modules trained in full next to the adapter ({@code modules_to_save}, e.g. a classification
 * head). Their pre-training values are kept so that disabling adapters restores the base model.
 */
final class ModulesToSave {
  private final Map<String, Parameter> parameters = new LinkedHashMap<>(); // path -> parameter
  private final Map<String, Tensor> originals = new LinkedHashMap<>();    // path -> value before training

  ModulesToSave(PretrainedModel model, List<String> names) {
    if (names == null) {
      return;
    }
    Map<String, Module> modules = model.namedModules();
    for (String wanted : names) {
      boolean found = false;
      for (Map.Entry<String, Module> e : modules.entrySet()) {
        String path = e.getKey();
        if (path.equals(wanted) || path.endsWith("." + wanted)) {
          found = true;
          e.getValue().namedParameters().forEach((param, p) -> parameters.put(path + "." + param, p));
        }
      }
      if (!found) {
        throw new IllegalArgumentException("modules_to_save entry '" + wanted + "' matches no module of "
            + model.architecture());
      }
    }
    parameters.forEach((path, p) -> originals.put(path, p.value().copy().retain()));
  }

  Map<String, Parameter> parameters() {
    return parameters;
  }

  /** Swaps trained and original values (used symmetrically to disable and re-enable). */
  void swap() {
    parameters.forEach((path, p) -> {
      Tensor current = p.value();
      p.set(originals.get(path));
      originals.put(path, current);
    });
  }
}
