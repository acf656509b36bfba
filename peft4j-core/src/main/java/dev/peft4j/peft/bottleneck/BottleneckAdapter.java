package dev.peft4j.peft.bottleneck;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.UnmergeableAdapter;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.PeftConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Bottleneck adapters attached to a model. Saved tensors are named
 * {@code base_model.model.<layer>.<site>_adapter[_k].<down|up>.<weight|bias>} (plus
 * {@code .scaling} when learned) — the parameter's path in the model with PEFT's prefix.
 */
public final class BottleneckAdapter implements UnmergeableAdapter {
  private final PretrainedModel model;
  private final BottleneckTuner.Injection injection;

  private BottleneckAdapter(PretrainedModel model, BottleneckTuner.Injection injection) {
    this.model = model;
    this.injection = injection;
  }

  /**
   * Injects {@code config}'s adapters into {@code model}. The adapter name is not part of the
   * module paths (a model carries at most one bottleneck stack).
   *
   * @throws IllegalArgumentException if the config does not fit the model; the model is unchanged
   */
  public static BottleneckAdapter attach(PretrainedModel model, BottleneckConfig config, String name, AdapterControl control) {
    return new BottleneckAdapter(model, BottleneckTuner.inject(model, config, control));
  }

  @Override
  public PeftConfig config() {
    return injection.config();
  }

  /** The paths of the attached adapter modules, e.g. {@code model.layers.0.attention_adapter}. */
  @Override
  public List<String> targetedModules() {
    return injection.deltas().stream().map(BottleneckTuner.Attached::path).toList();
  }

  @Override
  public Map<String, Parameter> trainableParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    injection.deltas().forEach(a -> a.delta().namedParameters().forEach((name, p) -> out.put(a.path() + "." + name, p)));
    return out;
  }

  @Override
  public Map<String, Parameter> savedTensors() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    trainableParameters().forEach((path, p) -> out.put(AdapterFormat.TUNER_PREFIX + path, p));
    return out;
  }

  @Override
  public List<String> modulesTrainedInFull() {
    return injection.layerNorms();
  }

  @Override
  public void load(Map<String, TensorData> tensors, String source) throws ModelFormatException {
    AdapterFormat.loadExactly(savedTensors(), tensors, source,
        "the bottleneck adapters its config creates on " + model.architecture());
  }

  @Override
  public void unload() {
    injection.deltas().forEach(a -> a.site().detach(a.childName()));
  }

  @Override
  public String whyNotMergeable() {
    return "bottleneck adapters cannot be merged into the base weights: the "
        + "non-linearity between W_down and W_up makes the change depend on the input, not a weight update";
  }
}
