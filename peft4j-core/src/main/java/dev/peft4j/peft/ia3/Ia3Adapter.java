package dev.peft4j.peft.ia3;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.DeltaAdapter;
import dev.peft4j.peft.ModuleSelector;
import dev.peft4j.peft.ProjectionTargets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** (IA)³ attached to a model under one adapter name: one {@link Ia3Delta} per targeted projection, its vector saved as {@code <module>.ia3_l}. */
public final class Ia3Adapter extends DeltaAdapter<Ia3Delta> {
  /** PEFT's TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING for the architectures peft4j has. */
  private static final Map<String, List<String>> DEFAULT_TARGETS = Map.of(
      "llama", List.of("k_proj", "v_proj", "down_proj"),
      "mistral", List.of("k_proj", "v_proj", "down_proj"),
      "qwen2", List.of("q_proj", "v_proj", "down_proj"),
      "qwen3", List.of("q_proj", "v_proj", "down_proj"),
      "gemma3_text", List.of("q_proj", "v_proj", "down_proj"),
      "gpt2", List.of("c_attn", "mlp.c_proj"),
      "bert", List.of("key", "value", "output.dense"));
  /** PEFT's TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING, likewise. */
  private static final Map<String, List<String>> DEFAULT_FEEDFORWARD = Map.of(
      "llama", List.of("down_proj"),
      "mistral", List.of("down_proj"),
      "qwen2", List.of("down_proj"),
      "qwen3", List.of("down_proj"),
      "gemma3_text", List.of("down_proj"),
      "gpt2", List.of("mlp.c_proj"),
      "bert", List.of("output.dense"));

  private Ia3Adapter(PretrainedModel model, String name, Ia3Config config, Map<String, Ia3Delta> deltas) {
    super(model, name, config, deltas);
  }

  /**
   * Injects {@code config} into {@code model} as adapter {@code name}: the architecture's default
   * targets and feed-forward modules where the config leaves them out, as PEFT; {@code fan_in_fan_out}
   * set when a target stores its weight [in, out]. A failed check leaves the model unchanged.
   *
   * @throws IllegalArgumentException if targets match nothing or a layer (IA)³ cannot adapt, or the
   *     architecture has no defaults for what the config leaves out
   */
  public static Ia3Adapter attach(PretrainedModel model, Ia3Config config, String name, AdapterControl control) {
    Ia3Config resolved = config.withModules(
        config.targetModules() != null ? config.targetModules() : defaults(DEFAULT_TARGETS, model, "target_modules"),
        config.feedforwardModules() != null ? config.feedforwardModules()
            : defaults(DEFAULT_FEEDFORWARD, model, "feedforward_modules"));
    Map<String, Projection> targets = ProjectionTargets.find(model, new ProjectionTargets.Query("(IA)³",
        resolved.targetModules(), resolved.excludeModules(), resolved.modulesToSave(), null, null, false), name);
    boolean anyTransposed = targets.values().stream().anyMatch(Projection::weightTransposed);
    Ia3Config applied = anyTransposed && !resolved.fanInFanOut() ? resolved.withFanInFanOut(true) : resolved;
    Map<String, Ia3Delta> deltas = new LinkedHashMap<>();
    targets.forEach((module, projection) -> deltas.put(module, projection.attachDelta(name,
        new Ia3Delta(projection, applied.isFeedforward(module), applied.initIa3Weights(), control))));
    return new Ia3Adapter(model, name, applied, deltas);
  }

  private static ModuleSelector defaults(Map<String, List<String>> table, PretrainedModel model, String key) {
    List<String> names = table.get(model.modelType());
    if (names == null) {
      throw new IllegalArgumentException("no default " + key + " for (IA)³ on model_type '" + model.modelType()
          + "'; set " + key);
    }
    return new ModuleSelector.Names(names);
  }

  @Override
  protected String describe() {
    return "the (IA)³ vectors";
  }

  /** Whether the module {@code path} has its input rescaled (a feed-forward target) rather than its output. */
  public boolean rescalesInput(String path) {
    return deltas.get(path).feedforward();
  }
}
