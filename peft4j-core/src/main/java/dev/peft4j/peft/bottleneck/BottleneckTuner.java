package dev.peft4j.peft.bottleneck;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.LayerNorm;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.RmsNorm;
import dev.peft4j.nn.SublayerSite;
import dev.peft4j.nn.SublayerSites;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.TargetMatcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Injects bottleneck adapters: finds the layers that expose {@link SublayerSite}s, plans one
 * {@link BottleneckDelta} per (stack entry, selected layer, placed site), checks everything, and
 * only then attaches them. A failed check leaves the model unchanged.
 *
 * <p>Each delta becomes the child {@code <site>_adapter} of its layer (the first adapter of the
 * stack) or {@code <site>_adapter_<k>} (the k-th, k ≥ 1), e.g. {@code model.layers.3.ffn_adapter}.
 */
final class BottleneckTuner {
  private BottleneckTuner() {}

  /** One attached delta: its path in the model, the site it sits at and its child name there. */
  record Attached(String path, SublayerSite site, String childName, BottleneckDelta delta) {}

  /** What injection did: the deltas in attachment order and the layer norms to train in full. */
  record Injection(BottleneckConfig config, List<Attached> deltas, List<String> layerNorms) {}

  private record Plan(String layerPath, SublayerSite site, String childName, BottleneckSpec spec, int bottleneck) {}

  /**
   * @throws IllegalArgumentException if the model has no sublayer sites, a placement names a site
   *     a layer lacks, a selection matches no layer, or a size does not fit the hidden size
   * @throws IllegalStateException if the model already carries bottleneck adapters
   */
  static Injection inject(PretrainedModel model, BottleneckConfig config, AdapterControl control) {
    Map<String, SublayerSites> layers = new LinkedHashMap<>();
    model.namedModules().forEach((path, m) -> {
      if (m instanceof SublayerSites) {
        layers.put(path, (SublayerSites) m);
      }
    });
    Checks.require(!layers.isEmpty(), "%s exposes no sublayer sites, so bottleneck adapters have nowhere to go",
        model.architecture());
    Map<String, Integer> indices = new LinkedHashMap<>();
    layers.keySet().forEach(path -> indices.put(path, TargetMatcher.layerIndex(path, null).orElse(0)));
    List<Plan> plans = new ArrayList<>();
    for (int k = 0; k < config.stack().size(); k++) {
      plans.addAll(plan(model, layers, indices, config.stack().get(k), k, config.stack().size() > 1));
    }
    List<Attached> attached = new ArrayList<>();
    for (Plan p : plans) {
      BottleneckDelta delta = p.site().attach(p.childName(), new BottleneckDelta(p.site(), p.spec(), p.bottleneck(), control));
      attached.add(new Attached(p.layerPath() + "." + p.childName(), p.site(), p.childName(), delta));
    }
    return new Injection(config, attached, config.trainLayerNorms() ? layerNorms(model, plans) : List.of());
  }

  private static List<Plan> plan(PretrainedModel model, Map<String, SublayerSites> layers, Map<String, Integer> indices,
      BottleneckSpec spec, int k, boolean stacked) {
    String where = stacked ? "stack[" + k + "]: " : "";
    spec.layerReductionFactors().keySet().forEach(layer -> Checks.require(indices.containsValue(layer),
        "%slayer_reduction_factors names layer %s, but %s has layers %s", where, layer, model.architecture(),
        indices.values()));
    List<Plan> plans = new ArrayList<>();
    for (Map.Entry<String, SublayerSites> layer : layers.entrySet()) {
      int index = indices.get(layer.getKey());
      if (!spec.adapts(index)) {
        continue;
      }
      for (String siteName : spec.placement().sites()) {
        SublayerSite site = site(layer.getValue(), siteName);
        Checks.require(site != null, "%splacement=%s: layer '%s' of %s has no %s sublayer site (it has %s)", where,
            BottleneckSpec.Choices.json(spec.placement()), layer.getKey(), model.architecture(), siteName,
            layer.getValue().sublayerSites().stream().map(SublayerSite::name).toList());
        Checks.require(!spec.multiHead() || site.heads() > 0, "%smulti_head: the %s site of '%s' has no attention heads",
            where, siteName, layer.getKey());
        int m;
        try {
          m = spec.bottleneckFor(index, site.width());
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(where + e.getMessage() + " (layer '" + layer.getKey() + "')", e);
        }
        String child = siteName + "_adapter" + (k == 0 ? "" : "_" + k);
        if (((Module) layer.getValue()).children().containsKey(child)) {
          throw new IllegalStateException("'" + layer.getKey() + "." + child + "' already exists: "
              + model.architecture() + " already carries bottleneck adapters");
        }
        plans.add(new Plan(layer.getKey(), site, child, spec, m));
      }
    }
    Checks.require(!plans.isEmpty(), "%slayers_to_transform=%s matched no layer of %s (it has layers %s)", where,
        spec.layersToTransform(), model.architecture(), indices.values());
    return plans;
  }

  private static SublayerSite site(SublayerSites layer, String name) {
    for (SublayerSite s : layer.sublayerSites()) {
      if (s.name().equals(name)) {
        return s;
      }
    }
    return null;
  }

  /** Every LayerNorm/RmsNorm inside an adapted layer, by path. */
  private static List<String> layerNorms(PretrainedModel model, List<Plan> plans) {
    Set<String> adapted = new LinkedHashSet<>();
    plans.forEach(p -> adapted.add(p.layerPath()));
    List<String> out = new ArrayList<>();
    model.namedModules().forEach((path, m) -> {
      if ((m instanceof LayerNorm || m instanceof RmsNorm) && adapted.stream().anyMatch(l -> path.startsWith(l + "."))) {
        out.add(path);
      }
    });
    return out;
  }
}
