package dev.peft4j.peft.prefix;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.KvSite;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.UnmergeableAdapter;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.HookSites;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.PromptTensors;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Prefix tuning attached to a model: one {@link PrefixEncoder} for all layers and a
 * {@link PrefixDelta} at every layer's attention K/V site. Its parameters live outside the base
 * model's module tree, named {@code prompt_encoder.<adapter>.…} as in PEFT.
 */
public final class PrefixAdapter implements UnmergeableAdapter {
  private final PrefixTuningConfig config;
  private final String name;
  private final String architecture;
  private final PrefixEncoder encoder;
  private final List<KvSite> sites;
  private final List<PrefixDelta> deltas = new ArrayList<>();
  private final List<String> targets;

  private PrefixAdapter(PrefixTuningConfig config, String name, String architecture, PrefixEncoder encoder,
      HookSites hooks, AdapterControl control) {
    this.config = config;
    this.name = name;
    this.architecture = architecture;
    this.encoder = encoder;
    this.sites = hooks.layers();
    this.targets = hooks.attentionPaths();
    for (KvSite site : sites) {
      PrefixDelta d = new PrefixDelta(encoder, site.layer(), control);
      site.attach(d);
      deltas.add(d);
    }
  }

  /**
   * Attaches {@code config} to every attention layer of {@code model}.
   *
   * @throws IllegalArgumentException if the model has no attention layers, its layers differ in
   *     key/value shape, or the config's recorded dimensions are not the model's
   */
  public static PrefixAdapter attach(PretrainedModel model, PrefixTuningConfig config, String name,
      AdapterControl control) {
    HookSites hooks = HookSites.of(model);
    List<KvSite> sites = hooks.requireLayers(model, "prefix tuning");
    KvSite first = sites.get(0);
    for (KvSite s : sites) {
      if (s.kvHeads() != first.kvHeads() || s.headDim() != first.headDim()) {
        throw new IllegalArgumentException("prefix tuning needs the same key/value shape in every layer; layer "
            + s.layer() + " differs from layer " + first.layer());
      }
    }
    int tokenDim = (int) first.kvDim(); // PEFT: head_dim · num_key_value_heads (grouped-query attention, PEFT #1901)
    check("token_dim", config.tokenDim(), tokenDim, model);
    check("num_attention_heads", config.numAttentionHeads(), first.kvHeads(), model);
    check("num_layers", config.numLayers(), sites.size(), model);
    PrefixTuningConfig applied = config.applied(tokenDim, first.kvHeads(), sites.size());
    PrefixEncoder encoder = new PrefixEncoder(applied.numVirtualTokens(), sites.size(), tokenDim,
        applied.hiddenSize(), applied.prefixProjection() && !applied.inferenceMode(), applied.zeroInit());
    return new PrefixAdapter(applied, name, model.architecture(), encoder, hooks, control);
  }

  private static void check(String key, Integer configured, int actual, PretrainedModel model) {
    if (configured != null && configured != actual) {
      throw new IllegalArgumentException(key + " is " + configured + " in the config but " + actual + " for "
          + model.architecture() + " (prefix tuning uses the key/value heads and width)");
    }
  }

  @Override
  public PeftConfig config() {
    return config;
  }

  @Override
  public List<String> targetedModules() {
    return targets;
  }

  /** {@code prompt_encoder.<name>.embedding.weight} (+ {@code transform.*} while reparameterised). */
  @Override
  public Map<String, Parameter> trainableParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    encoder.namedParameters().forEach((path, p) -> out.put("prompt_encoder." + name + "." + path, p));
    return out;
  }

  /** Whether the prefix is still computed through the MLP (false after {@link #fold()} or loading). */
  public boolean reparameterised() {
    return encoder.projected();
  }

  /**
   * Computes the prefix through the MLP once and keeps only the result, [P, L·2·kvDim]; the model's
   * outputs do not change. Training continues on the plain prefix.
   */
  public void fold() {
    if (encoder.projected()) {
      try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
        encoder.fold(encoder.all());
      }
    }
  }

  /** {@code prompt_embeddings} [P, L·2·kvDim]: the prefix, the MLP folded in (PEFT's {@code get_prompt_embedding_to_save}). */
  @Override
  public Map<String, Parameter> savedTensors() {
    try (Engine.GradGuard g = Engine.noGrad()) {
      return Map.of(PromptTensors.PROMPT_EMBEDDINGS, PromptTensors.saved(encoder.all()));
    }
  }

  /** Loads the plain prefix; a reparameterisation is dropped, as PEFT loads for inference. */
  @Override
  public void load(Map<String, TensorData> tensors, String source) throws ModelFormatException {
    long[] shape = {encoder.length(), (long) encoder.layers() * 2 * encoder.kvDim()};
    PromptTensors.check(tensors, Map.of(PromptTensors.PROMPT_EMBEDDINGS, shape), "prefix tuning", architecture, source);
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      encoder.fold(PromptTensors.read(tensors, PromptTensors.PROMPT_EMBEDDINGS));
    }
  }

  @Override
  public void unload() {
    for (int i = 0; i < sites.size(); i++) {
      sites.get(i).detach(deltas.get(i));
    }
  }

}
