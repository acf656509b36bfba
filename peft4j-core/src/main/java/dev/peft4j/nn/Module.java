package dev.peft4j.nn;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A node of a model's module tree: it owns named {@link Parameter}s and named child modules,
 * so every parameter has a dotted path such as {@code model.layers.0.self_attn.q_proj.weight}
 * — the Hugging Face name of the same weight.
 */
public abstract class Module {
  private final Map<String, Parameter> parameters = new LinkedHashMap<>();
  private final Map<String, Module> children = new LinkedHashMap<>();

  /** Registers a parameter of {@code shape} under {@code name}. */
  protected final Parameter parameter(String name, long... shape) {
    return register(parameters, name, new Parameter(shape));
  }

  /** Registers {@code module} as the child {@code name} and returns it. */
  protected final <M extends Module> M child(String name, M module) {
    register(children, name, module);
    return module;
  }

  private static <T> T register(Map<String, ? super T> map, String name, T value) {
    if (name.isEmpty() || name.contains(".")) {
      throw new IllegalArgumentException("invalid module or parameter name '" + name + "'");
    }
    if (map.putIfAbsent(name, value) != null) {
      throw new IllegalStateException("'" + name + "' is already registered");
    }
    return value;
  }

  /** Unregisters child {@code name}; returns it, or null if there was none. */
  protected final Module removeChild(String name) {
    return children.remove(name);
  }

  /** Direct children, in registration order. */
  public final Map<String, Module> children() {
    return Collections.unmodifiableMap(children);
  }

  /** Every parameter of this subtree by dotted path, in registration (depth-first) order. */
  public final Map<String, Parameter> namedParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    collectParameters("", out);
    return out;
  }

  private void collectParameters(String prefix, Map<String, Parameter> out) {
    parameters.forEach((name, p) -> out.put(prefix + name, p));
    children.forEach((name, m) -> m.collectParameters(prefix + name + ".", out));
  }

  /** Every module of this subtree by dotted path ("" for this module). */
  public final Map<String, Module> namedModules() {
    Map<String, Module> out = new LinkedHashMap<>();
    collectModules("", out);
    return out;
  }

  private void collectModules(String path, Map<String, Module> out) {
    out.put(path, this);
    children.forEach((name, m) -> m.collectModules(path.isEmpty() ? name : path + "." + name, out));
  }

  /** Total number of parameter elements in this subtree. */
  public final long parameterCount() {
    return namedParameters().values().stream().mapToLong(Parameter::numel).sum();
  }

  /** Marks every parameter of this subtree as not trainable. */
  public final void freeze() {
    namedParameters().values().forEach(p -> p.setTrainable(false));
  }

  /** Marks every parameter of this subtree as trainable (full fine-tuning) and returns them by path. */
  public final Map<String, Parameter> unfreeze() {
    Map<String, Parameter> all = namedParameters();
    all.values().forEach(p -> p.setTrainable(true));
    return all;
  }
}
