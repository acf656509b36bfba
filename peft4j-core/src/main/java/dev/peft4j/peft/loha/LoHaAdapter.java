package dev.peft4j.peft.loha;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Linear;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.DeltaAdapter;
import dev.peft4j.peft.ProjectionTargets;
import dev.peft4j.peft.lora.LoraTuner;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LoHa attached to a model under one adapter name: one {@link LoHaDelta} per targeted Linear, its
 * factors saved as {@code <module>.hada_w1_a} … {@code hada_w2_b}.
 */
public final class LoHaAdapter extends DeltaAdapter<LoHaDelta> {

  private LoHaAdapter(PretrainedModel model, String name, LoHaConfig config, Map<String, LoHaDelta> deltas) {
    super(model, name, config, deltas);
  }

  /**
   * Injects {@code config} as adapter {@code name} (LoRA's default targets where left out). A failed
   * check leaves the model unchanged.
   *
   * @throws IllegalArgumentException if targets match nothing, or a layer that is not a Linear
   *     (PEFT's LoHa adapts Linear and convolution layers; GPT-2's Conv1D is neither)
   */
  public static LoHaAdapter attach(PretrainedModel model, LoHaConfig config, String name, AdapterControl control) {
    LoHaConfig resolved = config.targetModules() != null ? config
        : config.withTargetModules(LoraTuner.defaultTargets(model));
    Map<String, Projection> targets = ProjectionTargets.find(model, new ProjectionTargets.Query("LoHa",
        resolved.targetModules(), resolved.excludeModules(), resolved.modulesToSave(),
        resolved.layersToTransform(), resolved.layersPattern(), false), name);
    targets.forEach((module, p) -> {
      if (!(p instanceof Linear)) {
        throw new IllegalArgumentException("target module '" + module + "' (" + p.getClass().getSimpleName()
            + ") cannot take LoHa: PEFT's LoHa adapts Linear layers (and convolutions), not GPT-2's Conv1D");
      }
    });
    Map<String, LoHaDelta> deltas = new LinkedHashMap<>();
    targets.forEach((module, p) -> deltas.put(module, p.attachDelta(name, new LoHaDelta(p, resolved.rankFor(module),
        resolved.scalingFor(module), resolved, control))));
    return new LoHaAdapter(model, name, resolved, deltas);
  }

  @Override
  protected String describe() {
    return "the LoHa layers";
  }
}
