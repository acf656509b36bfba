package dev.peft4j.peft.bottleneck;

import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.TaskType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Bottleneck adapters (Houlsby et al. 2019; Pfeiffer et al. 2021; He et al. 2022): one or more
 * {@link BottleneckSpec}s applied as a stack. At every sublayer site, the adapters of the stack
 * run in order, so a second sequential adapter reads the first one's output (AdapterHub's
 * {@code Stack}). Saved with {@code peft_type} {@value #PEFT_TYPE} in PEFT's two-file layout
 * (docs/FORMATS.md); Hugging Face PEFT has no bottleneck adapters.
 *
 * @param stack the adapters, applied in this order at each site; at least one
 * @param trainLayerNorms also train the layer norms inside every adapted layer, per task
 *     (Houlsby et al. 2019, §2.1); they are saved with the adapter and restored while adapters
 *     are disabled, like {@code modules_to_save}
 * @param modulesToSave extra modules trained fully and saved with the adapter (e.g. a
 *     classification head); null for none
 * @param taskType what the model is used for (CAUSAL_LM, SEQ_CLS, ...); may be null
 * @param baseModelNameOrPath the base model, recorded in the saved config; may be null
 * @param inferenceMode whether the adapter is frozen
 */
public record BottleneckConfig(
    List<BottleneckSpec> stack,
    boolean trainLayerNorms,
    List<String> modulesToSave,
    TaskType taskType,
    String baseModelNameOrPath,
    boolean inferenceMode) implements PeftConfig {

  /** The {@code peft_type} written to adapter_config.json. */
  public static final String PEFT_TYPE = "BOTTLENECK";

  public BottleneckConfig {
    Checks.require(stack != null && !stack.isEmpty(), "a bottleneck config needs at least one adapter in its stack");
    stack = List.copyOf(stack);
    modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
  }

  /** Houlsby adapters (attention and FFN, sequential) with reduction factor {@code r}; see {@link BottleneckSpec#houlsby()}. */
  public static BottleneckConfig houlsby(int r) {
    return of(BottleneckSpec.houlsby().reductionFactor(r).build());
  }

  /** Pfeiffer adapters (FFN only, sequential) with reduction factor {@code r}; see {@link BottleneckSpec#pfeiffer()}. */
  public static BottleneckConfig pfeiffer(int r) {
    return of(BottleneckSpec.pfeiffer().reductionFactor(r).build());
  }

  /** A parallel adapter of bottleneck {@code m} at the FFN; see {@link BottleneckSpec#parallel()}. */
  public static BottleneckConfig parallel(int m) {
    return of(BottleneckSpec.parallel().bottleneckSize(m).build());
  }

  /** A parallel adapter of bottleneck {@code m} at the FFN, output scaled by {@code s}. */
  public static BottleneckConfig scaledParallel(int m, double s) {
    return of(BottleneckSpec.scaledParallel(s).bottleneckSize(m).build());
  }

  /** Per-head parallel adapters of bottleneck {@code m} each on the attention; see {@link BottleneckSpec#multiHeadParallel()}. */
  public static BottleneckConfig multiHeadParallel(int m) {
    return of(BottleneckSpec.multiHeadParallel().bottleneckSize(m).build());
  }

  /** The adapters {@code specs}, stacked in this order, with every other field at its default. */
  public static BottleneckConfig of(BottleneckSpec... specs) {
    return builder().stack(List.of(specs)).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** This config recording the base model it is applied to. */
  public BottleneckConfig withBaseModel(String base) {
    return new BottleneckConfig(stack, trainLayerNorms, modulesToSave, taskType, base, inferenceMode);
  }

  @Override
  public String peftType() {
    return PEFT_TYPE;
  }

  /** The keys of PEFT's {@code PeftConfig} plus this method's: see docs/FORMATS.md. */
  @Override
  public Map<String, Object> toJsonMap() {
    Map<String, Object> m = new TreeMap<>();
    m.put("auto_mapping", null);
    m.put("base_model_name_or_path", baseModelNameOrPath);
    m.put("inference_mode", inferenceMode);
    m.put("modules_to_save", modulesToSave);
    m.put("peft_type", PEFT_TYPE);
    m.put("revision", null);
    m.put("stack", stack.stream().map(BottleneckSpec::toJsonMap).toList());
    m.put("task_type", taskType == null ? null : taskType.name());
    m.put("train_layer_norms", trainLayerNorms);
    return m;
  }

  /** Builds a {@link BottleneckConfig}: add the stack's adapters in order. */
  public static final class Builder {
    private final List<BottleneckSpec> stack = new ArrayList<>();
    private boolean trainLayerNorms;
    private List<String> modulesToSave;
    private TaskType taskType;
    private String baseModelNameOrPath;
    private boolean inferenceMode;

    private Builder() {}

    /** Appends {@code spec} to the stack (it reads the output of the adapters added before it). */
    public Builder adapter(BottleneckSpec spec) { stack.add(spec); return this; }
    public Builder adapter(BottleneckSpec.Builder spec) { return adapter(spec.build()); }
    /** Replaces the stack. */
    public Builder stack(List<BottleneckSpec> specs) { stack.clear(); stack.addAll(specs); return this; }
    public Builder trainLayerNorms(boolean value) { trainLayerNorms = value; return this; }
    public Builder modulesToSave(String... names) { modulesToSave = List.of(names); return this; }
    public Builder modulesToSave(List<String> names) { modulesToSave = names; return this; }
    public Builder taskType(TaskType value) { taskType = value; return this; }
    public Builder baseModelNameOrPath(String value) { baseModelNameOrPath = value; return this; }
    public Builder inferenceMode(boolean value) { inferenceMode = value; return this; }

    /** @throws IllegalArgumentException if the stack is empty */
    public BottleneckConfig build() {
      return new BottleneckConfig(stack, trainLayerNorms, modulesToSave, taskType, baseModelNameOrPath, inferenceMode);
    }
  }
}
