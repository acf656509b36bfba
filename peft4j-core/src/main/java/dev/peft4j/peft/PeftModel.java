package dev.peft4j.peft;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.lora.LoraAdapter;
import dev.peft4j.peft.lora.LoraCombination;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.peft.lora.MixedLoraRows;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A frozen base model with PEFT adapters attached — Hugging Face PEFT's {@code PeftModel}. The
 * base runs as usual ({@link #baseModel()}); each adapter's deltas sit at its hook sites. Several
 * named adapters can be attached at once; switching between them ({@link #setActive}) reloads
 * nothing, and a batch can use a different adapter per row ({@link #perRowAdapters}).
 */
public final class PeftModel {
  /** The adapter name PEFT uses when none is given. */
  public static final String DEFAULT_ADAPTER = "default";
  /** The row name that selects no adapter in a mixed batch. */
  public static final String BASE = "base";

  private final PretrainedModel base;
  private final Map<String, Attached> adapters = new LinkedHashMap<>();
  private final ModulesToSave.BaseValues baseValues = new ModulesToSave.BaseValues();
  private List<String> active = List.of();
  private boolean disabled;

  /** One adapter with its switches and its own copies of modules_to_save. */
  private record Attached(Adapter adapter, AdapterControl control, ModulesToSave modulesToSave) {}

  private PeftModel(PretrainedModel base) {
    this.base = base;
  }

  /**
   * Freezes every parameter of {@code base} and attaches {@code config}'s method as the active
   * adapter {@value #DEFAULT_ADAPTER}. All checks run before the model changes.
   *
   * @throws IllegalArgumentException if the config does not fit the model (e.g. a target that
   *     matches nothing); the model is left unchanged
   */
  static PeftModel wrap(PretrainedModel base, PeftConfig config) {
    PeftModel model = new PeftModel(base);
    model.attach(DEFAULT_ADAPTER, config);
    base.freeze();
    model.setActive(DEFAULT_ADAPTER);
    return model;
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
      throw new ModelFormatException(doesNotFit(adapterDir, base, e), e);
    }
    model.loadTensors(DEFAULT_ADAPTER, saved);
    return model;
  }

  /** Attaches another adapter under {@code name}, inactive; its parameters start frozen. */
  public void addAdapter(String name, PeftConfig config) {
    attach(name, config);
    adapters.get(name).control().setEnabled(false);
    setTrainable(adapters.get(name), false);
  }

  /** Loads a saved adapter as {@code name}, inactive. The base model is not reloaded. */
  public void loadAdapter(Path adapterDir, String name) throws IOException {
    AdapterFormat.Saved saved = AdapterFormat.read(adapterDir);
    try {
      addAdapter(name, saved.config());
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(doesNotFit(adapterDir, base, e), e);
    }
    try {
      loadTensors(name, saved);
    } catch (IOException | RuntimeException e) {
      deleteAdapter(name);
      throw e;
    }
  }

  private static String doesNotFit(Path dir, PretrainedModel base, Exception e) {
    return "adapter in " + dir + " does not fit " + base.architecture() + ": " + e.getMessage();
  }

  private void attach(String name, PeftConfig config) {
    if (name.equals(BASE) || name.isEmpty() || name.contains(".")) {
      throw new IllegalArgumentException("invalid adapter name '" + name + "'");
    }
    if (adapters.containsKey(name)) {
      throw new IllegalArgumentException("an adapter named '" + name + "' is already attached");
    }
    AdapterControl control = new AdapterControl();
    ModulesToSave saved = new ModulesToSave(base, config.modulesToSave(), baseValues); // checks the names first
    Adapter adapter = PeftMethods.attach(base, config, name, control);
    if (!adapter.modulesTrainedInFull().isEmpty()) {
      List<String> names = new ArrayList<>(config.modulesToSave() == null ? List.of() : config.modulesToSave());
      names.addAll(adapter.modulesTrainedInFull());
      saved = new ModulesToSave(base, names, baseValues);
    }
    adapters.put(name, new Attached(adapter, control, saved));
  }

  private void loadTensors(String name, AdapterFormat.Saved saved) throws IOException {
    Attached a = adapters.get(name);
    Map<String, TensorData> methodTensors = new LinkedHashMap<>(saved.tensors());
    Map<String, Parameter> extra = new LinkedHashMap<>();
    Map<String, TensorData> extraTensors = new LinkedHashMap<>();
    a.modulesToSave().parameters().forEach((path, p) -> {
      String key = savedName(a, path);
      // peft4j before 2026-11-29 wrote prompt learning's modules_to_save under base_model.model. too
      String former = AdapterFormat.TUNER_PREFIX + path;
      extra.put(key, p);
      if (methodTensors.containsKey(key)) {
        extraTensors.put(key, methodTensors.remove(key));
      } else if (methodTensors.containsKey(former)) {
        extraTensors.put(key, methodTensors.remove(former));
      }
    });
    a.adapter().load(methodTensors, saved.source());
    a.modulesToSave().activate(); // point at this adapter's own values to fill them
    AdapterFormat.copyInto(extra, extraTensors, saved.source());
    applyModulesToSave();
  }

  /**
   * Makes exactly {@code names} contribute (several: their deltas are summed or stacked at their
   * hook sites); their parameters become the trainable ones.
   *
   * @throws IllegalArgumentException for an unknown name, or two active adapters with modules_to_save
   */
  public void setActive(String... names) {
    List<String> wanted = List.of(names);
    wanted.forEach(this::attached);
    if (wanted.stream().filter(n -> !adapters.get(n).modulesToSave().isEmpty()).count() > 1) {
      throw new IllegalArgumentException("only one active adapter may have modules_to_save: " + wanted);
    }
    adapters.forEach((name, a) -> {
      boolean on = wanted.contains(name);
      a.control().setEnabled(on && !disabled);
      setTrainable(a, on);
    });
    active = wanted;
    applyModulesToSave();
  }

  /** Points modules_to_save at the active adapter's copies, or at the base values. */
  private void applyModulesToSave() {
    baseValues.restore();
    if (!disabled) {
      active.stream().map(n -> adapters.get(n).modulesToSave()).filter(m -> !m.isEmpty())
          .findFirst().ifPresent(ModulesToSave::activate);
    }
  }

  private static void setTrainable(Attached a, boolean on) {
    a.adapter().trainableParameters().values().forEach(p -> p.setTrainable(on));
    a.modulesToSave().parameters().values().forEach(p -> p.setTrainable(on));
  }

  /**
   * Adds adapter {@code name} combining LoRA adapters {@code names} with {@code weights}, as
   * Hugging Face PEFT's {@code add_weighted_adapter} ({@link LoraCombination}); inactive.
   *
   * @param svdRank rank of an {@code SVD} combination; ≤ 0 for the largest input rank
   */
  public void addWeightedAdapter(List<String> names, List<Double> weights, String name,
      LoraCombination.Type type, int svdRank) {
    List<Adapter> inputs = names.stream().map(n -> attached(n).adapter()).toList();
    addAdapter(name, LoraCombination.config(inputs, weights, type, svdRank));
    LoraCombination.fill((LoraAdapter) adapters.get(name).adapter(), inputs, weights, type);
  }

  /** Detaches {@code name}'s deltas from the model and forgets it. */
  public void deleteAdapter(String name) {
    Attached a = attached(name);
    if (a.adapter().merged()) {
      throw new IllegalStateException("adapter '" + name + "' is merged into the weights; unmerge() first");
    }
    List<String> remaining = new ArrayList<>(active);
    remaining.remove(name);
    setActive(remaining.toArray(new String[0]));
    a.adapter().unload();
    adapters.remove(name);
  }

  public List<String> adapterNames() {
    return List.copyOf(adapters.keySet());
  }

  public List<String> activeAdapters() {
    return active;
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

  /** The single active adapter. */
  public Adapter adapter() {
    return attached(singleActive()).adapter();
  }

  public Adapter adapter(String name) {
    return attached(name).adapter();
  }

  /** The config of the single active adapter. */
  public PeftConfig config() {
    return adapter().config();
  }

  private Attached attached(String name) {
    Attached a = adapters.get(name);
    if (a == null) {
      throw new IllegalArgumentException("no adapter named '" + name + "' (attached: " + adapters.keySet() + ")");
    }
    return a;
  }

  private String singleActive() {
    if (active.size() != 1) {
      throw new IllegalStateException("expected exactly one active adapter, have " + active);
    }
    return active.get(0);
  }

  /** Every parameter that trains: the active adapters' and their modules_to_save, by path in the model. */
  public Map<String, Parameter> trainableParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    for (String name : active) {
      Attached a = adapters.get(name);
      out.putAll(a.adapter().trainableParameters());
      out.putAll(a.modulesToSave().parameters());
    }
    return out;
  }

  public long trainableParameterCount() {
    return trainableParameters().values().stream().mapToLong(Parameter::numel).sum();
  }

  /** All parameters of the model, adapters included (also those kept outside the module tree, as PEFT's prompt encoders). */
  public long allParameterCount() {
    java.util.Set<Parameter> inTree = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    inTree.addAll(base.namedParameters().values());
    return base.parameterCount() + adapters.values().stream()
        .flatMap(a -> a.adapter().trainableParameters().values().stream())
        .filter(p -> !inTree.contains(p)).mapToLong(Parameter::numel).sum();
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

  /** Turns dropout (and other training-only behaviour) of every adapter on or off. */
  public void setTraining(boolean training) {
    adapters.values().forEach(a -> a.control().setTraining(training));
  }

  /**
   * Runs the base model without adapters until closed:
   * {@code try (var off = peft.disableAdapters()) { ... }}.
   *
   * @throws IllegalStateException if adapters are already disabled or an active one is merged
   */
  public AdaptersDisabled disableAdapters() {
    if (disabled) {
      throw new IllegalStateException("adapters are already disabled");
    }
    for (String name : active) {
      if (adapters.get(name).adapter().merged()) {
        throw new IllegalStateException("adapter '" + name + "' is merged into the weights; unmerge() before disabling it");
      }
    }
    disabled = true;
    setActive(active.toArray(new String[0]));
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
        disabled = false;
        setActive(active.toArray(new String[0]));
      }
    }
  }

  /**
   * Runs each row of the next batches with its own adapter until closed: {@code rowAdapters[i]}
   * names row i's adapter, or {@value #BASE} for none. Rows that share an adapter are computed
   * together; when several LoRA adapters share the batch, all their rows are computed at once
   * with gathered batched matmuls ({@link MixedLoraRows}). Adapters with modules_to_save cannot be
   * mixed, and DoRA adapters cannot run per row at all.
   *
   * @throws IllegalArgumentException for an unknown adapter name
   */
  public MixedBatch perRowAdapters(List<String> rowAdapters) {
    Map<String, List<Long>> rowsOf = new LinkedHashMap<>();
    boolean baseRows = false;
    for (int i = 0; i < rowAdapters.size(); i++) {
      String name = rowAdapters.get(i);
      if (name.equals(BASE)) {
        baseRows = true;
      } else {
        attached(name);
        rowsOf.computeIfAbsent(name, k -> new ArrayList<>()).add((long) i);
      }
    }
    for (String name : rowsOf.keySet()) {
      if (!adapters.get(name).modulesToSave().isEmpty() && (rowsOf.size() > 1 || baseRows)) {
        throw new IllegalArgumentException("adapter '" + name + "' has modules_to_save and cannot share a batch with others");
      }
      if (adapters.get(name).adapter().merged()) {
        throw new IllegalStateException("adapter '" + name + "' is merged into the weights; unmerge() first");
      }
      if (adapters.get(name).adapter().config() instanceof LoraConfig lora && lora.useDora()) {
        throw new IllegalArgumentException("adapter '" + name + "' is a DoRA adapter, which cannot run per row"
            + " (activate it for the whole batch, or merge it)");
      }
    }
    List<String> before = active;
    setActive(rowsOf.keySet().toArray(new String[0]));
    rowsOf.forEach((name, rows) -> adapters.get(name).control().setRows(
        Tensor.ofLongs(rows.stream().mapToLong(Long::longValue).toArray(), rows.size()).retain()));
    List<LoraAdapter> rowLoras = rowAdapters.stream()
        .map(name -> name.equals(BASE) ? null : adapters.get(name).adapter())
        .map(a -> a instanceof LoraAdapter lora ? lora : null).toList();
    return new MixedBatch(before, MixedLoraRows.applies(rowLoras) ? MixedLoraRows.install(rowLoras) : null);
  }

  /** Restores the previously active adapters, applying to every row, when closed. */
  public final class MixedBatch implements AutoCloseable {
    private final List<String> previous;
    private final MixedLoraRows gatheredLora; // rows of several LoRA adapters computed together, or null

    private MixedBatch(List<String> previous, MixedLoraRows gatheredLora) {
      this.previous = previous;
      this.gatheredLora = gatheredLora;
    }

    @Override
    public void close() {
      if (gatheredLora != null) {
        gatheredLora.close();
      }
      adapters.values().forEach(a -> {
        if (a.control().rows() != null) {
          a.control().rows().close();
        }
        a.control().setRows(null);
      });
      setActive(previous.toArray(new String[0]));
    }
  }

  /**
   * Converts the matrices of every LoRA adapter to {@code dtype}. On a bf16/f16 model they are
   * float32, as PEFT's default {@code autocast_adapter_dtype=True} keeps them; converting them to
   * the model's dtype is PEFT's {@code autocast_adapter_dtype=False}: faster unmerged bf16
   * inference (docs/PERFORMANCE.md), coarser updates when training. Call it before creating an
   * optimizer, which holds the parameters' tensors.
   */
  public void castLoraMatrices(DType dtype) {
    adapters.values().forEach(a -> {
      if (a.adapter() instanceof LoraAdapter lora) {
        lora.castMatrices(dtype);
      }
    });
  }

  /** Folds the active adapters into the base weights (no inference overhead); idempotent. */
  public void merge() {
    for (String name : active) {
      Adapter a = adapters.get(name).adapter();
      if (!a.mergeable()) {
        throw new UnsupportedOperationException(a.whyNotMergeable());
      }
    }
    active.forEach(name -> adapters.get(name).adapter().merge());
  }

  /** Restores the unmerged weights, in reverse order of merging. */
  public void unmerge() {
    List<String> reversed = new ArrayList<>(active);
    java.util.Collections.reverse(reversed);
    reversed.forEach(name -> adapters.get(name).adapter().unmerge());
  }

  /**
   * Merges the active adapters and removes every adapter: the result is a plain model with the
   * adapted behaviour that saves as a standard checkpoint. This PeftModel must not be used afterwards.
   */
  public PretrainedModel mergeAndUnload() {
    merge();
    adapters.values().forEach(a -> a.adapter().unload());
    return base;
  }

  /** Writes the single active adapter in PEFT's format ({@code adapter_config.json} + {@code adapter_model.safetensors}). */
  public void save(Path dir) throws IOException {
    save(dir, singleActive());
  }

  /** Writes adapter {@code name} in PEFT's format. */
  public void save(Path dir, String name) throws IOException {
    Attached a = attached(name);
    Map<String, Parameter> tensors = new LinkedHashMap<>(a.adapter().savedTensors());
    Map<String, Parameter> extra = savedModulesToSave(a);
    if (!extra.isEmpty() && !active.contains(name)) {
      throw new IllegalStateException("activate adapter '" + name + "' to save its modules_to_save");
    }
    tensors.putAll(extra);
    AdapterFormat.write(dir, a.adapter().config(), tensors);
  }

  /** modules_to_save under PEFT's saved names ({@link #savedName}). */
  private static Map<String, Parameter> savedModulesToSave(Attached a) {
    Map<String, Parameter> out = new LinkedHashMap<>();
    a.modulesToSave().parameters().forEach((path, p) -> out.put(savedName(a, path), p));
    return out;
  }

  /**
   * PEFT's saved name of a modules_to_save parameter: {@code base_model.model.<path>} for the
   * methods PEFT runs through a tuner wrapping the model (LoRA, adaption prompt), {@code
   * base_model.<path>} for prompt learning, whose {@code PeftModel.base_model} is the model itself.
   */
  private static String savedName(Attached a, String path) {
    return (a.adapter().config() instanceof PromptLearningConfig ? "base_model." : AdapterFormat.TUNER_PREFIX) + path;
  }
}
