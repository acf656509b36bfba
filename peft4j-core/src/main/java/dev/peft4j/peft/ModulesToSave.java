package dev.peft4j.peft;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One adapter's copies of the modules it trains in full ({@code modules_to_save}, e.g. a
 * classification head), as PEFT's {@code ModulesToSaveWrapper} keeps one copy per adapter.
 * Activating the adapter points the model's parameters at its copies, so training updates them
 * in place; {@link BaseValues} restores the originals.
 *
 * <p>As in PEFT, an entry that names no module of this model is passed over (PEFT writes
 * {@code ["classifier", "score"]} into every sequence-classification adapter, for the two heads'
 * usual names), and only a list of which nothing matches is an error. A saved tensor of a module
 * this model lacks is still refused when the adapter loads (an unexpected name).
 */
final class ModulesToSave {
  private final Map<String, Parameter> parameters = new LinkedHashMap<>(); // path -> live parameter
  private final Map<String, Tensor> values = new LinkedHashMap<>();       // path -> this adapter's value

  /** @param base the base model's own values, shared by every adapter of one PeftModel */
  ModulesToSave(PretrainedModel model, List<String> names, BaseValues base) {
    if (names == null) {
      return;
    }
    Map<String, Module> modules = model.namedModules();
    for (String wanted : names) {
      for (Map.Entry<String, Module> e : modules.entrySet()) {
        String path = e.getKey();
        if (path.equals(wanted) || path.endsWith("." + wanted)) {
          e.getValue().namedParameters().forEach((param, p) -> parameters.put(path + "." + param, p));
        }
      }
    }
    if (!names.isEmpty() && parameters.isEmpty()) {
      throw new IllegalArgumentException("modules_to_save " + names + " match no module of " + model.architecture());
    }
    parameters.forEach((path, p) -> values.put(path, base.of(p).copy().retain()));
  }

  boolean isEmpty() {
    return parameters.isEmpty();
  }

  /** The live parameters, by path. */
  Map<String, Parameter> parameters() {
    return parameters;
  }

  /** Points the parameters at this adapter's values. */
  void activate() {
    parameters.forEach((path, p) -> p.set(values.get(path)));
  }

  /** The base model's values of parameters that adapters replace, recorded before any adapter touches them. */
  static final class BaseValues {
    private final Map<Parameter, Tensor> values = new LinkedHashMap<>();

    Tensor of(Parameter p) {
      return values.computeIfAbsent(p, Parameter::value);
    }

    /** Points every replaced parameter back at its base value. */
    void restore() {
      values.forEach(Parameter::set);
    }
  }
}
