package dev.peft4j.peft.lora;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.Adapter;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** LoRA attached to a model under one adapter name. */
public final class LoraAdapter implements Adapter {
  private final PretrainedModel model;
  private final String name;
  private final LoraTuner.Injection injection;
  private final Map<String, Parameter> biases;
  private final List<LoraDelta> mergeOrder = new ArrayList<>(); // for LIFO unmerge

  private LoraAdapter(PretrainedModel model, String name, LoraTuner.Injection injection) {
    this.model = model;
    this.name = name;
    this.injection = injection;
    this.biases = LoraTuner.trainableBiases(model, injection);
  }

  /** Injects {@code config} into {@code model} as adapter {@code name}. */
  public static LoraAdapter attach(PretrainedModel model, LoraConfig config, String name, AdapterControl control) {
    return new LoraAdapter(model, name, LoraTuner.inject(model, config, name, control));
  }

  @Override
  public PeftConfig config() {
    return injection.config();
  }

  @Override
  public List<String> targetedModules() {
    return injection.targetedModules();
  }

  public Map<String, LoraDelta> deltas() {
    return injection.deltas();
  }

  /** Converts every LoRA matrix of this adapter to {@code dtype} (see {@link dev.peft4j.peft.PeftModel#castLoraMatrices}). */
  public void castMatrices(DType dtype) {
    injection.deltas().values().forEach(d -> d.castTo(dtype));
  }

  @Override
  public Map<String, Parameter> trainableParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    injection.deltas().forEach((module, d) -> {
      out.put(module + "." + name + ".lora_A", d.loraA());
      out.put(module + "." + name + ".lora_B", d.loraB());
      if (d.magnitude() != null) {
        out.put(module + "." + name + ".lora_magnitude_vector", d.magnitude());
      }
    });
    out.putAll(biases);
    return out;
  }

  /**
   * {@code <module>.lora_A.weight} / {@code .lora_B.weight} (and DoRA's {@code
   * <module>.lora_magnitude_vector}); trained biases as
   * {@code <module>.base_layer.bias} on adapted layers (PEFT wraps them) and {@code <path>} elsewhere.
   */
  @Override
  public Map<String, Parameter> savedTensors() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    injection.deltas().forEach((module, d) -> {
      out.put(AdapterFormat.TUNER_PREFIX + module + ".lora_A.weight", d.loraA());
      out.put(AdapterFormat.TUNER_PREFIX + module + ".lora_B.weight", d.loraB());
      if (d.magnitude() != null) {
        out.put(AdapterFormat.TUNER_PREFIX + module + ".lora_magnitude_vector", d.magnitude());
      }
    });
    biases.forEach((path, p) -> {
      String module = path.substring(0, path.length() - ".bias".length());
      boolean wrapped = injection.deltas().containsKey(module);
      out.put(AdapterFormat.TUNER_PREFIX + (wrapped ? module + ".base_layer.bias" : path), p);
    });
    return out;
  }

  @Override
  public void load(Map<String, TensorData> tensors, String source) throws ModelFormatException {
    AdapterFormat.loadExactly(savedTensors(), tensors, source,
        "the LoRA layers its config creates on " + model.architecture());
  }

  @Override
  public boolean mergeable() {
    return true;
  }

  @Override
  public boolean merged() {
    return !mergeOrder.isEmpty();
  }

  /**
   * Adds every (α/r)·BA to its weight (with DoRA, rescales the sum's rows to the magnitudes). All
   * merged weights are computed and checked finite first, so a failure leaves every weight
   * unchanged. Merging twice is a no-op.
   */
  @Override
  public void merge() {
    if (merged()) {
      return;
    }
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Map<LoraDelta, LoraDelta.Merge> updates = new LinkedHashMap<>();
      injection.deltas().forEach((module, d) -> {
        LoraDelta.Merge merge = d.prepareMerge();
        if (!merge.weight().allFinite()) {
          throw new IllegalStateException("LoRA update of '" + module + "' has NaN or infinite values; nothing merged");
        }
        updates.put(d, merge);
      });
      updates.forEach((d, merge) -> {
        d.mergeInto(merge);
        mergeOrder.add(d);
      });
    }
  }

  /** Subtracts the merged deltas in reverse order of merging. */
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
    injection.deltas().keySet().forEach(module -> ((Projection) modules.get(module)).detachDelta(name));
  }
}
