package dev.peft4j.peft.lora;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Embedding;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.ModuleSelector;
import dev.peft4j.peft.ProjectionTargets;
import dev.peft4j.peft.TargetMatcher;
import dev.peft4j.peft.tokens.TokenRows;
import dev.peft4j.peft.tokens.TrainableTokensDelta;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
      "gemma3_text", List.of("q_proj", "v_proj"),
      "gpt2", List.of("c_attn"),
      "bert", List.of("query", "value"));

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
    Map<String, Projection> targets = ProjectionTargets.find(model, new ProjectionTargets.Query("LoRA",
        resolved.targetModules(), resolved.excludeModules(), resolved.modulesToSave(),
        resolved.layersToTransform(), resolved.layersPattern(), true), adapterName);
    boolean anyTransposed = targets.values().stream().anyMatch(Projection::weightTransposed);
    if (resolved.loraBias()) {
      targets.entrySet().stream().filter(e -> e.getValue().takesIds()).findFirst().ifPresent(e -> {
        throw new IllegalArgumentException("lora_bias is not supported on an embedding ('" + e.getKey() + "'), as in PEFT");
      });
    }
    Map<String, TokenRows> tokenRows = tokenRows(model, resolved, targets.keySet(), adapterName);
    LoraConfig applied = anyTransposed && !resolved.fanInFanOut() ? resolved.withFanInFanOut(true) : resolved;
    Map<String, LoraDelta> deltas = new LinkedHashMap<>();
    targets.forEach((name, projection) -> deltas.put(name, projection.attachDelta(adapterName, new LoraDelta(
        projection, applied.rankFor(name), applied.scalingFor(name), applied.loraDropout(), applied.init(),
        applied.useDora(), applied.loraBias(), control))));
    return new Injection(applied, deltas, TokenRows.attach(tokenRows, adapterName, true, control));
  }

  /**
   * The embeddings {@code trainable_token_indices} names, by path, with their ids, each checked:
   * the model's input embedding for a list, else each key's single match; not also a LoRA target,
   * every id inside the table.
   */
  private static Map<String, TokenRows> tokenRows(PretrainedModel model, LoraConfig config, Set<String> loraTargets,
      String adapterName) {
    TrainableTokens tokens = config.trainableTokens();
    if (tokens == null) {
      return Map.of();
    }
    Map<String, TokenRows> rows;
    if (tokens.indices() != null) {
      rows = TokenRows.ofInputEmbedding(model, tokens.indices(), "trainable_token_indices");
    } else {
      rows = new LinkedHashMap<>();
      Map<String, Module> modules = model.namedModules();
      for (Map.Entry<String, List<Integer>> e : tokens.byModule().entrySet()) {
        List<String> matches = modules.keySet().stream()
            .filter(name -> TargetMatcher.matches(new ModuleSelector.Names(List.of(e.getKey())), name)).toList();
        if (matches.size() != 1 || !(modules.get(matches.get(0)) instanceof Embedding table)) {
          throw new IllegalArgumentException("trainable_token_indices names '" + e.getKey() + "', which matches "
              + (matches.isEmpty() ? "no module" : matches) + "; it must name one embedding of " + model.architecture());
        }
        rows.put(matches.get(0), new TokenRows(table, e.getValue()));
      }
    }
    rows.keySet().stream().filter(loraTargets::contains).findFirst().ifPresent(name -> {
      throw new IllegalArgumentException("'" + name + "' is both a LoRA target and in trainable_token_indices");
    });
    TokenRows.check(rows, adapterName, "trainable_token_indices");
    return rows;
  }

  /**
   * PEFT's default LoRA targets for the model's architecture (VeRA uses the same).
   *
   * @throws IllegalArgumentException for an architecture without defaults
   */
  public static ModuleSelector defaultTargets(PretrainedModel model) {
    List<String> names = DEFAULT_TARGETS.get(model.modelType());
    if (names == null) {
      throw new IllegalArgumentException("no default target_modules for model_type '" + model.modelType()
          + "'; set target_modules");
    }
    return new ModuleSelector.Names(names);
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
