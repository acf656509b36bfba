package dev.peft4j.peft.prefix;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.KvSite;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.HookSites;
import dev.peft4j.peft.PromptLearningAdapter;
import java.util.ArrayList;
import java.util.List;

/**
 * Prefix tuning attached to a model: one {@link PrefixEncoder} for all layers and a
 * {@link PrefixDelta} at every layer's attention K/V site.
 */
public final class PrefixAdapter extends PromptLearningAdapter {
  private final PrefixEncoder encoder;
  private final List<KvSite> sites;
  private final List<PrefixDelta> deltas = new ArrayList<>();
  private final List<String> targets;

  private PrefixAdapter(PrefixTuningConfig config, String name, String architecture, PrefixEncoder encoder,
      HookSites hooks, AdapterControl control) {
    super(config, name, architecture, encoder);
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
  public List<String> targetedModules() {
    return targets;
  }

  /** [P, L·2·kvDim]. */
  @Override
  protected long[] savedShape() {
    return new long[] {encoder.length(), (long) encoder.layers() * 2 * encoder.kvDim()};
  }

  @Override
  public void unload() {
    for (int i = 0; i < sites.size(); i++) {
      sites.get(i).detach(deltas.get(i));
    }
  }

}
