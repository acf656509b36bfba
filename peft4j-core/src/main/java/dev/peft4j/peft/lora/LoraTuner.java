package dev.peft4j.peft.lora;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Embedding;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.HookSites;
import dev.peft4j.peft.ModuleSelector;
import dev.peft4j.peft.TargetMatcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;

/**
 * Injects LoRA into a model: finds the targeted projections, checks everything, and only then
 * attaches one {@link LoraDelta} per target. A failed check leaves the model unchanged.
 */
public final class LoraTuner {
  /** PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING for the architectures peft4j has. */
  private static final Map<String, List<String>> DEFAULT_TARGETS = Map.of(
      "llama", List.of("q_proj", "v_proj"),
      "mistral", List.of("q_proj", "v_proj"),
      "qwen2", List.of("q_proj", "v_proj"),
      "qwen3", List.of("q_proj", "v_proj"),
      "gpt2", List.of("c_attn"),
      "bert", List.of("query", "value"));
  /** Output heads "all-linear" leaves out, as PEFT does. */
  private static final List<String> OUTPUT_HEADS = List.of("lm_head", "classifier", "score");

  private LoraTuner() {}

  /**
   * What injection did: the config as applied (defaults resolved), the delta of each target, and
   * the trained rows of each embedding named by {@code trainable_token_indices}.
   */
  public record Injection(LoraConfig config, Map<String, LoraDelta> deltas, Map<String, TrainableTokensDelta> tokens) {
    public List<String> targetedModules() {
      return List.copyOf(deltas.keySet());
    }
  }

  /**
   * @param adapterName the child name each delta is registered under (e.g. "default")
   * @throws IllegalArgumentException if targets match nothing, match a layer LoRA cannot adapt,
   *     or are all excluded; the message lists what was tried and what exists
   */
  public static Injection inject(PretrainedModel model, LoraConfig config, String adapterName, AdapterControl control) {
    LoraConfig resolved = config.targetModules() != null ? config : config.withTargetModules(defaultTargets(model));
    Map<String, Module> modules = model.namedModules();
    Map<String, Projection> targets = new LinkedHashMap<>();
    List<String> excluded = new ArrayList<>();
    boolean anyTransposed = false;
    for (Map.Entry<String, Module> e : modules.entrySet()) {
      String name = e.getKey();
      if (name.isEmpty() || !isTarget(resolved, model, name, e.getValue())) {
        continue;
      }
      if (resolved.excludeModules() != null && TargetMatcher.matches(resolved.excludeModules(), name)) {
        excluded.add(name);
        continue;
      }
      if (!inSelectedLayers(resolved, name)) {
        continue;
      }
      if (!(e.getValue() instanceof Projection)) {
        throw new IllegalArgumentException("target module '" + name + "' (" + e.getValue().getClass().getSimpleName()
            + ") cannot take LoRA: peft4j adapts Linear, Conv1D and Embedding layers only (target_modules="
            + resolved.targetModules().toJson() + ")");
      }
      if (e.getValue().children().containsKey(adapterName)) {
        throw new IllegalStateException("module '" + name + "' already has an adapter named '" + adapterName + "'");
      }
      Projection p = (Projection) e.getValue();
      anyTransposed |= p.weightTransposed();
      targets.put(name, p);
    }
    if (targets.isEmpty()) {
      throw new IllegalArgumentException(excluded.isEmpty()
          ? "target_modules=" + resolved.targetModules().toJson() + " matched no module of " + model.architecture()
              + "; its linear and embedding layers are named " + projectionSuffixes(modules)
          : "every module matched by target_modules=" + resolved.targetModules().toJson()
              + " is excluded by exclude_modules=" + resolved.excludeModules().toJson());
    }
    Map<String, TokenRows> tokenRows = tokenRows(model, resolved, targets.keySet(), adapterName);
    LoraConfig applied = anyTransposed && !resolved.fanInFanOut() ? resolved.withFanInFanOut(true) : resolved;
    Map<String, LoraDelta> deltas = new LinkedHashMap<>();
    targets.forEach((name, projection) -> deltas.put(name, projection.attachDelta(adapterName, new LoraDelta(
        projection, applied.rankFor(name), applied.scalingFor(name), applied.loraDropout(), applied.init(),
        applied.useDora(), control))));
    Map<String, TrainableTokensDelta> tokens = new LinkedHashMap<>();
    tokenRows.forEach((name, r) -> tokens.put(name, r.table().attachDelta(adapterName,
        new TrainableTokensDelta(r.table(), r.ids(), control))));
    return new Injection(applied, deltas, tokens);
  }

  /** An embedding and the token ids of its rows that train in full. */
  private record TokenRows(Embedding table, List<Integer> ids) {}

  /**
   * The embeddings {@code trainable_token_indices} names, by path, with their ids, each checked:
   * the model's input embedding for a list, else each key's single match; not also a LoRA target,
   * every id inside the table.
   */
  private static Map<String, TokenRows> tokenRows(PretrainedModel model, LoraConfig config, Set<String> loraTargets,
      String adapterName) {
    TrainableTokens tokens = config.trainableTokens();
    Map<String, TokenRows> rows = new LinkedHashMap<>();
    if (tokens == null) {
      return rows;
    }
    Map<String, Module> modules = model.namedModules();
    if (tokens.indices() != null) {
      Embedding input = HookSites.of(model).requireInput(model, "trainable_token_indices").wordEmbeddings();
      modules.forEach((name, m) -> {
        if (m == input) {
          rows.put(name, new TokenRows(input, tokens.indices()));
        }
      });
    } else {
      tokens.byModule().forEach((key, ids) -> {
        List<String> matches = modules.keySet().stream()
            .filter(name -> TargetMatcher.matches(new ModuleSelector.Names(List.of(key)), name)).toList();
        if (matches.size() != 1 || !(modules.get(matches.get(0)) instanceof Embedding table)) {
          throw new IllegalArgumentException("trainable_token_indices names '" + key + "', which matches "
              + (matches.isEmpty() ? "no module" : matches) + "; it must name one embedding of " + model.architecture());
        }
        rows.put(matches.get(0), new TokenRows(table, ids));
      });
    }
    rows.forEach((name, r) -> {
      if (loraTargets.contains(name)) {
        throw new IllegalArgumentException("'" + name + "' is both a LoRA target and in trainable_token_indices");
      }
      if (r.table().children().containsKey(adapterName)) {
        throw new IllegalStateException("module '" + name + "' already has an adapter named '" + adapterName + "'");
      }
      for (int id : r.ids()) {
        if (id >= r.table().numEmbeddings()) {
          throw new IllegalArgumentException("trainable_token_indices for '" + name + "' has token id " + id
              + ", outside its table of " + r.table().numEmbeddings() + " rows");
        }
      }
    });
    return rows;
  }

  private static boolean isTarget(LoraConfig config, PretrainedModel model, String name, Module module) {
    if (config.targetModules() instanceof ModuleSelector.AllLinear) {
      String last = name.substring(name.lastIndexOf('.') + 1);
      return module instanceof Projection p && !p.takesIds() && !OUTPUT_HEADS.contains(last) && !name.contains(".lora_")
          && !isUnder(name, config.modulesToSave());
    }
    return TargetMatcher.matches(config.targetModules(), name);
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

  private static boolean inSelectedLayers(LoraConfig config, String name) {
    if (config.layersToTransform() == null) {
      return true;
    }
    OptionalInt layer = TargetMatcher.layerIndex(name, config.layersPattern());
    return layer.isPresent() && config.layersToTransform().contains(layer.getAsInt());
  }

  private static ModuleSelector defaultTargets(PretrainedModel model) {
    List<String> names = DEFAULT_TARGETS.get(model.modelType());
    if (names == null) {
      throw new IllegalArgumentException("no default target_modules for model_type '" + model.modelType()
          + "'; set target_modules");
    }
    return new ModuleSelector.Names(names);
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

  /** The parameters {@code bias} makes trainable, by path: none, all biases, or the targets' biases. */
  static Map<String, Parameter> trainableBiases(PretrainedModel model, Injection injection) {
    Map<String, Parameter> out = new LinkedHashMap<>();
    LoraConfig.LoraBias bias = injection.config().bias();
    if (bias == LoraConfig.LoraBias.ALL) {
      model.namedParameters().forEach((path, p) -> {
        if (path.endsWith(".bias") && !path.contains(".lora_")) {
          out.put(path, p);
        }
      });
    } else if (bias == LoraConfig.LoraBias.LORA_ONLY) {
      Map<String, Module> modules = model.namedModules();
      injection.deltas().keySet().forEach(name -> {
        Parameter hostBias = ((Projection) modules.get(name)).bias();
        if (hostBias != null) {
          out.put(name + ".bias", hostBias);
        }
      });
    }
    return out;
  }
}
