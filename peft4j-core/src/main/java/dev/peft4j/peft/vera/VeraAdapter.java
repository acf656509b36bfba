package dev.peft4j.peft.vera;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.Adapter;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.DeltaAdapter;
import dev.peft4j.peft.ProjectionTargets;
import dev.peft4j.peft.lora.LoraTuner;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * VeRA attached to a model under one adapter name: the shared projections and one {@link VeraDelta}
 * per target, saved as {@code <module>.vera_lambda_b} / {@code _d} (and the projections, {@link #extraSavedTensors}).
 */
public final class VeraAdapter extends DeltaAdapter<VeraDelta> {
  /** Where PEFT saves the shared projections: beside the model, not inside it. */
  private static final String PROJECTIONS_PREFIX = "base_model.";

  private final VeraConfig config;
  private final VeraProjections projections;

  private VeraAdapter(PretrainedModel model, String name, VeraConfig config, VeraProjections projections,
      Map<String, VeraDelta> deltas) {
    super(model, name, config, deltas);
    this.config = config;
    this.projections = projections;
  }

  /**
   * Injects {@code config} as adapter {@code name}: the targets (LoRA's defaults where left out), the
   * projections drawn at their largest shapes, a delta on each. A failed check leaves the model unchanged.
   *
   * @throws IllegalArgumentException if targets match nothing or a layer VeRA cannot adapt (an embedding)
   */
  public static VeraAdapter attach(PretrainedModel model, VeraConfig config, String name, AdapterControl control) {
    VeraConfig resolved = config.targetModules() != null ? config
        : config.applied(LoraTuner.defaultTargets(model), config.fanInFanOut());
    Map<String, Projection> targets = ProjectionTargets.find(model, new ProjectionTargets.Query("VeRA",
        resolved.targetModules(), null, resolved.modulesToSave(),
        resolved.layersToTransform(), resolved.layersPattern(), false), name);
    boolean anyTransposed = targets.values().stream().anyMatch(Projection::weightTransposed);
    VeraConfig applied = resolved.applied(resolved.targetModules(), resolved.fanInFanOut() || anyTransposed);
    long maxIn = targets.values().stream().mapToLong(Projection::inFeatures).max().orElseThrow();
    long maxOut = targets.values().stream().mapToLong(Projection::outFeatures).max().orElseThrow();
    Projection any = targets.values().iterator().next();
    VeraProjections projections = new VeraProjections(applied.r(), maxIn, maxOut, applied.projectionPrngKey(),
        Adapter.trainedDType(any.weight().value().dtype()));
    Map<String, VeraDelta> deltas = new LinkedHashMap<>();
    targets.forEach((module, p) -> deltas.put(module, p.attachDelta(name, new VeraDelta(p, projections, applied, control))));
    return new VeraAdapter(model, name, applied, projections, deltas);
  }

  @Override
  protected String describe() {
    return "the VeRA layers";
  }

  /** With {@code save_projection}, the shared {@code base_model.vera_A} and {@code base_model.vera_B}. */
  @Override
  protected Map<String, Parameter> extraSavedTensors() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    if (config.saveProjection()) {
      out.put(PROJECTIONS_PREFIX + "vera_A", projections.a());
      out.put(PROJECTIONS_PREFIX + "vera_B", projections.b());
    }
    return out;
  }
}
