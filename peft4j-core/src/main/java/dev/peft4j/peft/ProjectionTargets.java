package dev.peft4j.peft;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.Projection;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The projections a method that attaches to weights (LoRA, (IA)³) targets, found with PEFT's rules
 * ({@code BaseTuner.inject_adapter}): {@code target_modules} by {@link TargetMatcher} or
 * {@code "all-linear"} (every projection but embeddings and output heads, and none inside
 * {@code modules_to_save}), minus {@code exclude_modules}, within the selected layers. Finding
 * attaches nothing; every check fails before a method changes the model.
 */
public final class ProjectionTargets {
  /** Output heads "all-linear" leaves out, as PEFT does. */
  private static final List<String> OUTPUT_HEADS = List.of("lm_head", "classifier", "score");

  private ProjectionTargets() {}

  /**
   * What to look for.
   *
   * @param method the method's name in errors, e.g. "LoRA"
   * @param targets {@code target_modules}, resolved (not null)
   * @param exclude {@code exclude_modules}, or null
   * @param modulesToSave {@code modules_to_save}, or null
   * @param layersToTransform only modules inside these layers ({@link TargetMatcher#inLayers}); null for all
   * @param layersPattern the layer containers for {@code layersToTransform}; null for PEFT's
   * @param embeddings whether the method can adapt an embedding table
   */
  public record Query(String method, ModuleSelector targets, ModuleSelector exclude, List<String> modulesToSave,
      List<Integer> layersToTransform, List<String> layersPattern, boolean embeddings) {}

  /**
   * @param adapterName the child name the method will attach under
   * @return the targeted projections by module path, in model order
   * @throws IllegalArgumentException if targets match nothing, match a layer the method cannot adapt,
   *     or are all excluded; the message lists what was tried and what exists
   * @throws IllegalStateException if a target already has an adapter named {@code adapterName}
   */
  public static Map<String, Projection> find(PretrainedModel model, Query query, String adapterName) {
    Map<String, Module> modules = model.namedModules();
    Map<String, Projection> targets = new LinkedHashMap<>();
    List<String> excluded = new ArrayList<>();
    for (Map.Entry<String, Module> e : modules.entrySet()) {
      String name = e.getKey();
      if (name.isEmpty() || !isTarget(query, name, e.getValue())) {
        continue;
      }
      if (query.exclude() != null && TargetMatcher.matches(query.exclude(), name)) {
        excluded.add(name);
        continue;
      }
      if (!TargetMatcher.inLayers(name, query.layersToTransform(), query.layersPattern())) {
        continue;
      }
      if (!(e.getValue() instanceof Projection p) || (p.takesIds() && !query.embeddings())) {
        throw new IllegalArgumentException("target module '" + name + "' (" + e.getValue().getClass().getSimpleName()
            + ") cannot take " + query.method() + ": peft4j adapts Linear, Conv1D"
            + (query.embeddings() ? " and Embedding" : "") + " layers only (target_modules="
            + query.targets().toJson() + ")");
      }
      if (p.children().containsKey(adapterName)) {
        throw new IllegalStateException("module '" + name + "' already has an adapter named '" + adapterName + "'");
      }
      targets.put(name, p);
    }
    if (targets.isEmpty()) {
      throw new IllegalArgumentException(excluded.isEmpty()
          ? "target_modules=" + query.targets().toJson() + " matched no module of " + model.architecture()
              + "; its linear and embedding layers are named " + projectionSuffixes(modules)
          : "every module matched by target_modules=" + query.targets().toJson()
              + " is excluded by exclude_modules=" + query.exclude().toJson());
    }
    return targets;
  }

  private static boolean isTarget(Query query, String name, Module module) {
    if (query.targets() instanceof ModuleSelector.AllLinear) {
      String last = name.substring(name.lastIndexOf('.') + 1);
      return module instanceof Projection p && !p.takesIds() && !OUTPUT_HEADS.contains(last)
          && !isUnder(name, query.modulesToSave());
    }
    return TargetMatcher.matches(query.targets(), name);
  }

  private static boolean isUnder(String name, List<String> modules) {
    if (modules == null) {
      return false;
    }
    for (String m : modules) {
      if (name.equals(m) || name.endsWith("." + m) || name.startsWith(m + ".") || name.contains("." + m + ".")) {
        return true;
      }
    }
    return false;
  }

  private static String projectionSuffixes(Map<String, Module> modules) {
    TreeSet<String> suffixes = new TreeSet<>();
    modules.forEach((name, m) -> {
      if (m instanceof Projection) {
        suffixes.add(name.substring(name.lastIndexOf('.') + 1));
      }
    });
    return suffixes.toString();
  }
}
