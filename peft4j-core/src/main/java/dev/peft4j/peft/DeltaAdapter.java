package dev.peft4j.peft;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An adapter made of one delta per targeted projection, attached under the adapter's name — what
 * (IA)³, VeRA and trainable tokens share: the trained parameters are the deltas' own, saved as
 * {@code base_model.model.<module>.<parameter>} (PEFT's names for these methods), merged delta by
 * delta after every merge was computed and checked ({@link MergedDeltas}).
 *
 * @param <D> the delta type
 */
public abstract class DeltaAdapter<D extends Module & MergeableDelta> implements Adapter {

  protected final PretrainedModel model;
  protected final String name;
  private final PeftConfig config;
  protected final Map<String, D> deltas;
  private final MergedDeltas merged = new MergedDeltas();

  protected DeltaAdapter(PretrainedModel model, String name, PeftConfig config, Map<String, D> deltas) {
    this.model = model;
    this.name = name;
    this.config = config;
    this.deltas = deltas;
  }

  /** What the deltas are, for "does not fit" errors, e.g. "the VeRA layers". */
  protected abstract String describe();

  @Override
  public PeftConfig config() {
    return config;
  }

  @Override
  public List<String> targetedModules() {
    return List.copyOf(deltas.keySet());
  }

  /** Each delta's parameters as {@code <module>.<adapter>.<parameter>}. */
  @Override
  public Map<String, Parameter> trainableParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    deltas.forEach((module, d) -> d.namedParameters().forEach((p, value) -> out.put(module + "." + name + "." + p, value)));
    return out;
  }

  /** Each delta's parameters as {@code base_model.model.<module>.<parameter>}, then {@link #extraSavedTensors}. */
  @Override
  public Map<String, Parameter> savedTensors() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    deltas.forEach((module, d) -> d.namedParameters().forEach((p, value) ->
        out.put(AdapterFormat.TUNER_PREFIX + module + "." + p, value)));
    out.putAll(extraSavedTensors());
    return out;
  }

  /** Tensors saved besides the deltas' parameters (none by default). */
  protected Map<String, Parameter> extraSavedTensors() {
    return Map.of();
  }

  /** Loads exactly {@link #savedTensors()}, except the {@code optional} names a file may leave out. */
  protected final void loadExactly(Map<String, TensorData> tensors, String source, List<String> optional)
      throws ModelFormatException {
    Map<String, Parameter> expected = savedTensors();
    optional.stream().filter(k -> !tensors.containsKey(k)).forEach(expected::remove);
    AdapterFormat.loadExactly(expected, tensors, source, describe() + " its config creates on " + model.architecture());
  }

  @Override
  public void load(Map<String, TensorData> tensors, String source) throws ModelFormatException {
    loadExactly(tensors, source, List.of());
  }

  @Override
  public boolean mergeable() {
    return true;
  }

  @Override
  public boolean merged() {
    return merged.any();
  }

  /** Merges every delta ({@link MergedDeltas}: all checked first, so a failure changes nothing); idempotent. */
  @Override
  public void merge() {
    merged.merge(deltas);
  }

  /** Unmerges the deltas in reverse order of merging. */
  @Override
  public void unmerge() {
    merged.unmerge();
  }

  @Override
  public void unload() {
    Map<String, Module> modules = model.namedModules();
    deltas.keySet().forEach(module -> ((Projection) modules.get(module)).detachDelta(name));
  }
}
