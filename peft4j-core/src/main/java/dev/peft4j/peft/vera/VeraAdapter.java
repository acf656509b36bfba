package dev.peft4j.peft.vera;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.Adapter;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.ProjectionTargets;
import dev.peft4j.peft.TargetMatcher;
import dev.peft4j.peft.lora.LoraTuner;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** VeRA attached to a model under one adapter name: the shared projections and one {@link VeraDelta} per target. */
public final class VeraAdapter implements Adapter {
  /** Where PEFT saves the shared projections: beside the model, not inside it. */
  private static final String PROJECTIONS_PREFIX = "base_model.";

  private final PretrainedModel model;
  private final String name;
  private final VeraConfig config;
  private final VeraProjections projections;
  private final Map<String, VeraDelta> deltas;
  private final List<VeraDelta> mergeOrder = new ArrayList<>(); // for LIFO unmerge

  private VeraAdapter(PretrainedModel model, String name, VeraConfig config, VeraProjections projections,
      Map<String, VeraDelta> deltas) {
    this.model = model;
    this.name = name;
    this.config = config;
    this.projections = projections;
    this.deltas = deltas;
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
        module -> TargetMatcher.inLayers(module, resolved.layersToTransform(), resolved.layersPattern()), false), name);
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
  public PeftConfig config() {
    return config;
  }

  @Override
  public List<String> targetedModules() {
    return List.copyOf(deltas.keySet());
  }

  @Override
  public Map<String, Parameter> trainableParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    deltas.forEach((module, d) -> {
      out.put(module + "." + name + ".vera_lambda_b", d.lambdaB());
      out.put(module + "." + name + ".vera_lambda_d", d.lambdaD());
    });
    return out;
  }

  /**
   * PEFT's names: {@code <module>.vera_lambda_b} / {@code _d}, and with {@code save_projection}
   * the shared {@code base_model.vera_A} and {@code base_model.vera_B}.
   */
  @Override
  public Map<String, Parameter> savedTensors() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    deltas.forEach((module, d) -> {
      out.put(AdapterFormat.TUNER_PREFIX + module + ".vera_lambda_b", d.lambdaB());
      out.put(AdapterFormat.TUNER_PREFIX + module + ".vera_lambda_d", d.lambdaD());
    });
    if (config.saveProjection()) {
      out.put(PROJECTIONS_PREFIX + "vera_A", projections.a());
      out.put(PROJECTIONS_PREFIX + "vera_B", projections.b());
    }
    return out;
  }

  @Override
  public void load(Map<String, TensorData> tensors, String source) throws ModelFormatException {
    AdapterFormat.loadExactly(savedTensors(), tensors, source, "the VeRA layers its config creates on "
        + model.architecture());
  }

  @Override
  public boolean mergeable() {
    return true;
  }

  @Override
  public boolean merged() {
    return !mergeOrder.isEmpty();
  }

  /** Adds every ΔW to its weight; all are computed and checked finite first, so a failure changes nothing. */
  @Override
  public void merge() {
    if (merged()) {
      return;
    }
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Map<VeraDelta, Tensor> weights = new LinkedHashMap<>();
      deltas.forEach((module, d) -> {
        Tensor w = d.mergedWeight();
        if (!w.allFinite()) {
          throw new IllegalStateException("VeRA update of '" + module + "' has NaN or infinite values; nothing merged");
        }
        weights.put(d, w);
      });
      weights.forEach((d, w) -> {
        d.mergeInto(w);
        mergeOrder.add(d);
      });
    }
  }

  /** Subtracts the merged updates in reverse order of merging. */
  @Override
  public void unmerge() {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      for (int i = mergeOrder.size() - 1; i >= 0; i--) {
        mergeOrder.get(i).unmerge();
      }
      mergeOrder.clear();
    }
  }

  @Override
  public void unload() {
    Map<String, Module> modules = model.namedModules();
    deltas.keySet().forEach(module -> ((Projection) modules.get(module)).detachDelta(name));
  }
}
