package dev.peft4j.peft;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Parameter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A frozen base model with one PEFT method attached — Hugging Face PEFT's {@code PeftModel}.
 * The base runs as usual ({@link #baseModel()}); the method's deltas sit at its hook sites.
 */
public final class PeftModel {
  /** The adapter name PEFT uses when none is given. */
  public static final String DEFAULT_ADAPTER = "default";

  private final PretrainedModel base;
  private final Adapter adapter;
  private final ModulesToSave modulesToSave;
  private final AdapterControl control;

  private PeftModel(PretrainedModel base, Adapter adapter, ModulesToSave modulesToSave, AdapterControl control) {
    this.base = base;
    this.adapter = adapter;
    this.modulesToSave = modulesToSave;
    this.control = control;
  }

  /**
   * Freezes every parameter of {@code base} and attaches {@code config}'s method. All checks run
   * before the model changes.
   *
   * @throws IllegalArgumentException if the config does not fit the model (e.g. a target that
   *     matches nothing); the model is left unchanged
   */
  static PeftModel wrap(PretrainedModel base, PeftConfig config) {
    AdapterControl control = new AdapterControl();
    ModulesToSave saved = new ModulesToSave(base, config.modulesToSave()); // checks the names first
    Adapter adapter = PeftMethods.attach(base, config, DEFAULT_ADAPTER, control);
    if (!adapter.modulesTrainedInFull().isEmpty()) {
      List<String> names = new ArrayList<>(config.modulesToSave() == null ? List.of() : config.modulesToSave());
      names.addAll(adapter.modulesTrainedInFull());
      saved = new ModulesToSave(base, names);
    }
    base.freeze();
    adapter.trainableParameters().values().forEach(p -> p.setTrainable(true));
    saved.parameters().values().forEach(p -> p.setTrainable(true));
    return new PeftModel(base, adapter, saved, control);
  }

  /**
   * Loads an adapter saved by {@link #save} or by Hugging Face PEFT onto {@code base}.
   *
   * @throws ModelFormatException if the files are missing or malformed, or do not fit the model
   */
  public static PeftModel load(PretrainedModel base, Path adapterDir) throws IOException {
    AdapterFormat.Saved saved = AdapterFormat.read(adapterDir);
    PeftModel model;
    try {
      model = wrap(base, saved.config());
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException("adapter in " + adapterDir + " does not fit " + base.architecture()
          + ": " + e.getMessage(), e);
    }
    model.loadTensors(saved);
    return model;
  }

  private void loadTensors(AdapterFormat.Saved saved) throws IOException {
    Map<String, dev.peft4j.io.TensorData> methodTensors = new LinkedHashMap<>(saved.tensors());
    Map<String, Parameter> extra = savedModulesToSave();
    Map<String, dev.peft4j.io.TensorData> extraTensors = new LinkedHashMap<>();
    extra.keySet().forEach(k -> {
      if (methodTensors.containsKey(k)) {
        extraTensors.put(k, methodTensors.remove(k));
      }
    });
    adapter.load(methodTensors, saved.source());
    AdapterFormat.copyInto(extra, extraTensors, saved.source());
  }

  public PretrainedModel baseModel() {
    return base;
  }

  /** The base model as a causal LM, if it is one. */
  public CausalLm causalLm() {
    if (!(base instanceof CausalLm)) {
      throw new IllegalStateException(base.architecture() + " is not a causal language model");
    }
    return (CausalLm) base;
  }

  public PeftConfig config() {
    return adapter.config();
  }

  public Adapter adapter() {
    return adapter;
  }

  /** Every parameter that trains: the method's and modules_to_save's, by path in the model. */
  public Map<String, Parameter> trainableParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>(adapter.trainableParameters());
    out.putAll(modulesToSave.parameters());
    return out;
  }

  public long trainableParameterCount() {
    return trainableParameters().values().stream().mapToLong(Parameter::numel).sum();
  }

  /** All parameters of the model, adapters included. */
  public long allParameterCount() {
    return base.parameterCount();
  }

  /** PEFT's line: {@code trainable params: N || all params: M || trainable%: x}. */
  public String trainableParametersSummary() {
    long trainable = trainableParameterCount();
    long all = allParameterCount();
    return String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f",
        trainable, all, 100.0 * trainable / all);
  }

  public void printTrainableParameters() {
    System.out.println(trainableParametersSummary());
  }

  /** Turns dropout (and other training-only behaviour) of the adapter on or off. */
  public void setTraining(boolean training) {
    control.setTraining(training);
  }

  /**
   * Runs the base model without adapters until closed:
   * {@code try (var off = peft.disableAdapters()) { ... }}.
   *
   * @throws IllegalStateException if adapters are already disabled or merged into the weights
   */
  public AdaptersDisabled disableAdapters() {
    if (!control.enabled()) {
      throw new IllegalStateException("adapters are already disabled");
    }
    if (adapter.merged()) {
      throw new IllegalStateException("the adapter is merged into the weights; unmerge() before disabling it");
    }
    control.setEnabled(false);
    modulesToSave.swap();
    return new AdaptersDisabled();
  }

  /** Re-enables adapters when closed. */
  public final class AdaptersDisabled implements AutoCloseable {
    private boolean closed;

    private AdaptersDisabled() {}

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        modulesToSave.swap();
        control.setEnabled(true);
      }
    }
  }

  /** Folds the adapter into the base weights (no inference overhead); idempotent. */
  public void merge() {
    if (!adapter.mergeable()) {
      throw new UnsupportedOperationException(adapter.config().peftType() + " cannot be merged into the weights");
    }
    adapter.merge();
  }

  /** Restores the unmerged weights and adapter. */
  public void unmerge() {
    adapter.unmerge();
  }

  /**
   * Merges the adapter and removes it: the result is a plain model with the adapted behaviour
   * that saves as a standard checkpoint. This PeftModel must not be used afterwards.
   */
  public PretrainedModel mergeAndUnload() {
    merge();
    adapter.unload();
    return base;
  }

  /** Writes {@code adapter_config.json} and {@code adapter_model.safetensors} in PEFT's format. */
  public void save(Path dir) throws IOException {
    Map<String, Parameter> tensors = new LinkedHashMap<>(adapter.savedTensors());
    tensors.putAll(savedModulesToSave());
    AdapterFormat.write(dir, adapter.config(), tensors);
  }

  /** modules_to_save under PEFT's saved names: {@code base_model.model.<path>}. */
  private Map<String, Parameter> savedModulesToSave() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    modulesToSave.parameters().forEach((path, p) -> out.put("base_model.model." + path, p));
    return out;
  }
}
